/* main.c - rdm-agent's entry point; everything else is in cli.c. */
#include "../base/plat.h"
#include "../storage/store.h"
#include "cli.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    rdm_err err;
    if (store_init(&err)) { /* before any connection or thread */
        fprintf(stderr, "rdm-agent: %s\n", err.msg);
        return 1;
    }
    plat_init();
    return cli_main(argc, argv);
}

/* main.c - rdm-agent's entry point; everything else is in cli.c. */
#include "../base/plat.h"
#include "cli.h"

int main(int argc, char **argv)
{
    plat_init();
    return cli_main(argc, argv);
}

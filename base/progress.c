/* progress.c - see progress.h. */
#include "progress.h"
#include "log.h"
#include "plat.h"

#include <stdio.h>

void progress_begin(progress *p, const char *what, const char *unit, long long total)
{
    p->what = what;
    p->unit = unit;
    p->total = total > 0 ? total : 0;
    p->done = 0;
    p->t0 = p->shown = plat_mono_ms();
    p->tty = plat_isatty_stderr();
    p->drawn = 0;
}

static void show(progress *p, long long now)
{
    double secs = (double)(now - p->t0) / 1000.0;
    double rate = secs > 0 ? (double)p->done / secs : 0;
    char eta[32] = "";
    if (p->total && rate > 0 && p->done < p->total) {
        long long left = (long long)((double)(p->total - p->done) / rate);
        snprintf(eta, sizeof eta, ", ETA %lld:%02lld", left / 60, left % 60);
    }
    if (p->tty) {
        char bar[32] = "";
        if (p->total) {
            int fill = (int)(20.0 * (double)p->done / (double)p->total);
            fill = fill > 20 ? 20 : fill;
            for (int i = 0; i < 20; i++)
                bar[i] = i < fill ? '#' : '.';
            bar[20] = 0;
        }
        fprintf(stderr, "\r%s %s%s%s %lld%s%lld %s, %.0f/s%s   ", p->what, bar[0] ? "[" : "", bar,
                bar[0] ? "]" : "", p->done, p->total ? "/" : "", p->total, p->unit, rate, eta);
        fflush(stderr);
    } else {
        if (p->total)
            log_info("%s: %lld of %lld %s, %.0f/s%s", p->what, p->done, p->total, p->unit, rate,
                     eta);
        else
            log_info("%s: %lld %s, %.0f/s", p->what, p->done, p->unit, rate);
    }
    p->drawn = 1;
    p->shown = now;
}

void progress_add(progress *p, long long n)
{
    p->done += n;
    if (log_get_level() < LOG_INFO)
        return;
    long long now = plat_mono_ms();
    /* nothing for work shorter than a second; then 4/s on a terminal, 1/10 s in a log */
    if (now - p->t0 < 1000 || now - p->shown < (p->tty ? 250 : 10000))
        return;
    show(p, now);
}

void progress_end(progress *p)
{
    if (!p->drawn)
        return;
    if (p->tty) {
        fprintf(stderr, "\r%*s\r", 79, "");
        fflush(stderr);
    } else {
        show(p, plat_mono_ms());
    }
}

/*
 * progress.h - progress of long work: on a terminal, a bar on stderr
 * (done, rate, ETA when the total is known) redrawn at most 4 times a
 * second; without a terminal, a plain log line every 10 seconds. Silent
 * below the info log level (--quiet).
 *
 * Interface (prefix progress_): progress_begin(), progress_add(),
 * progress_end()
 */
#ifndef RDM_PROGRESS_H
#define RDM_PROGRESS_H

typedef struct progress {
    const char *what; /* "collect", "export": what is counted, shown first */
    const char *unit; /* "rows", "records", "files" */
    long long total;  /* 0 = unknown */
    long long done;
    long long t0, shown; /* monotonic ms */
    int tty, drawn;
} progress;

void progress_begin(progress *p, const char *what, const char *unit, long long total);
void progress_add(progress *p, long long n);
/* Clears the bar (a terminal) or logs the total (when lines were logged). */
void progress_end(progress *p);

#endif

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* deferprof diff BASE NEW [-f report|folded|html] [-o FILE] [--top N]: the command (diff.h: the work). */
#ifndef DP_DIFFCMD_H
#define DP_DIFFCMD_H

/* argv[0] is "diff". Returns the exit status: 0, 1 (bad input or output), 2 (bad usage). */
int dp_diffcmd__main(int argc, char **argv);

#endif

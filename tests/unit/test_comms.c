// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Thread names (model/comms.c): kept while they can be asked for, when streaming. */
#include <criterion/criterion.h>
#include "comms.h"

Test(comms, exited_threads_forgotten_two_intervals_later_when_streaming)
{
	struct dp_comms *c = dp_comms__new();

	cr_assert_not_null(c);
	cr_assert_eq(dp_comms__set(c, 10, 10, "main"), 0);
	cr_assert_eq(dp_comms__set(c, 10, 11, "worker"), 0);
	dp_comms__exited(c, 11);
	dp_comms__next_epoch(c, true);	/* the interval it exited in ends */
	cr_assert_str_eq(dp_comms__get(c, 11), "worker", "its last samples may come in the next interval");
	dp_comms__next_epoch(c, true);
	cr_assert_null(dp_comms__get(c, 11), "forgotten");
	cr_assert_str_eq(dp_comms__get(c, 10), "main", "a live thread stays");
	/* Not streaming (a report at the end): every name stays. */
	cr_assert_eq(dp_comms__set(c, 10, 12, "late"), 0);
	dp_comms__exited(c, 12);
	for (int i = 0; i < 4; i++)
		dp_comms__next_epoch(c, false);
	cr_assert_str_eq(dp_comms__get(c, 12), "late");
	/* A thread seen again after its exit (a reused tid) is alive again. */
	cr_assert_eq(dp_comms__set(c, 10, 12, "again"), 0);
	dp_comms__next_epoch(c, true);
	dp_comms__next_epoch(c, true);
	cr_assert_str_eq(dp_comms__get(c, 12), "again");
	dp_comms__free(c);
}

export LD_LIBRARY_PATH=/io/dp/cur/lib
D=/io/dp/cur; O=/io/out; mkdir -p $O
T=/sys/kernel/tracing
U=130710
echo 16384 > $T/buffer_size_kb
for e in irq_vectors/call_function_single_entry sched/sched_switch sched/sched_wakeup sched/sched_waking sched/sched_migrate_task timer/hrtimer_expire_entry irq_vectors/call_function_entry irq_vectors/reschedule_entry irq_vectors/irq_work_entry; do echo 1 > $T/events/$e/enable 2>/dev/null || echo "no $e" >> $O/noevents.txt; done
for i in $(seq 1 14); do
echo > $T/trace
mkfifo /tmp/wo$i
$D/dp-bench-work -W -H -m sysdeep -u $U > /tmp/wo$i &
WP=$!
exec 3</tmp/wo$i
read line <&3
$D/deferprof -v -p $WP -F 4999 -f report -o /tmp/rep$i.txt 2> /tmp/dp$i.err &
DPP=$!
while ! grep -q "events enabled" /tmp/dp$i.err; do sleep 0.05; done
sleep 0.2
$D/dp-bench-work -m spin -t 1 -s 3.6 > /dev/null &
SP=$!
echo 1 > $T/tracing_on
s0=$(cat /proc/$DPP/schedstat); m0=$(cut -d' ' -f12 /proc/$DPP/stat)
kill -USR1 $WP
read line <&3
s1=$(cat /proc/$DPP/schedstat); m1=$(cut -d' ' -f12 /proc/$DPP/stat)
echo 0 > $T/tracing_on
kill $WP; wait $DPP; kill $SP 2>/dev/null; wait
exec 3<&-
late=$(sed -n 's/.*woke at worst \([0-9.]*\) ms late.*/\1/p' /tmp/dp$i.err)
lost=$(sed -n 's/.*ring buffer lost \([0-9]*\) records.*/\1/p' /tmp/rep$i.txt)
echo "run $i work $line dp $DPP late $late lost $lost schedstat0 $s0 schedstat1 $s1 majflt $m0 $m1" >> $O/runs.txt
if [ "${late%.*}" -gt 100 ] 2>/dev/null; then cp $T/trace $O/trace$i.txt; cp /tmp/dp$i.err $O/; fi
done

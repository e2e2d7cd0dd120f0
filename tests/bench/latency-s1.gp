# Latency against offered load, scenario 1 (scripts/bench).  Variables, with gnuplot -e:
#   dat  the data file written by benchres.py curve (blocks: havend, mirror, node, havend async)
#   out  the PNG to write;  ttl  the title;  xl  the x axis label
set terminal pngcairo size 1150,620 font "sans,10" noenhanced
set output out
set title ttl
set xlabel xl
set ylabel "latency, ms (log scale)"
set logscale y
set grid
set key outside right top
set format x "%.0s%c"
plot dat index 0 using 1:2 with linespoints lc 1 pt 7 dt 2 title "havend p50", \
     "" index 0 using 1:4 with linespoints lc 1 pt 7 lw 2 title "havend p99", \
     "" index 3 using 1:2 with linespoints lc 4 pt 9 dt 2 title "havend, sync. commit off, p50", \
     "" index 3 using 1:4 with linespoints lc 4 pt 9 lw 2 title "havend, sync. commit off, p99", \
     "" index 1 using 1:2 with linespoints lc 2 pt 5 dt 2 title "lws mirror p50", \
     "" index 1 using 1:4 with linespoints lc 2 pt 5 lw 2 title "lws mirror p99", \
     "" index 2 using 1:2 with linespoints lc 3 pt 13 dt 2 title "node ws p50", \
     "" index 2 using 1:4 with linespoints lc 3 pt 13 lw 2 title "node ws p99", \
     5 with lines lc rgb "#cc0000" dt 4 lw 1.5 title "5 ms target"

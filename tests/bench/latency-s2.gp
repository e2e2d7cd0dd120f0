# Latency against offered load, scenario 2 (scripts/bench).  Variables, with gnuplot -e:
#   dat  the data file written by benchres.py curve (blocks: havend, node, havend without
#        keepalive during the run);  out  the PNG;  ttl  the title
set terminal pngcairo size 1150,620 font "sans,10" noenhanced
set output out
set title ttl
set xlabel "offered load (deliveries per second = messages/s x 20 receivers per room)"
set ylabel "latency, ms (log scale)"
set logscale y
set grid
set key outside right top
set format x "%.0s%c"
plot dat index 0 using 1:2 with linespoints lc 1 pt 7 dt 2 title "havend p50", \
     "" index 0 using 1:4 with linespoints lc 1 pt 7 lw 2 title "havend p99", \
     "" index 2 using 1:2 with linespoints lc 4 pt 9 dt 2 title "havend, ping interval 3600 s, p50", \
     "" index 2 using 1:4 with linespoints lc 4 pt 9 lw 2 title "havend, ping interval 3600 s, p99", \
     "" index 1 using 1:2 with linespoints lc 3 pt 13 dt 2 title "node ws p50", \
     "" index 1 using 1:4 with linespoints lc 3 pt 13 lw 2 title "node ws p99", \
     50 with lines lc rgb "#cc0000" dt 4 lw 1.5 title "50 ms target"

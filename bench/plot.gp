# bench/plot.gp: the plot of doc/performance.md, from bench/out data.
#   gnuplot -c bench/plot.gp OUTDIR PNG
# OUTDIR holds spawn.dat (bench/spawn) and api.dat (bench/api).
dir = ARG1
set terminal pngcairo size 1500,500 font "sans,10" noenhanced
set output ARG2
set multiplot layout 1,3 title "jobd against the machine and its peers, same run (medians)"

set style data histogram
set style histogram cluster gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set key top right
set grid ytics
set logscale y
set yrange [1:*]
set title "Spawn /bin/true: define+start+finish (jobs/s, log scale)"
set xtics nomirror rotate by -30
set bmargin 5
plot dir."/spawn.dat" using 2:xtic(1) title "sequential (1 client)" lc rgb "#4472c4", \
     "" using 3 title "4 wide (4 clients)" lc rgb "#ed7d31"

unset logscale y
set yrange [0:*]
set title "GET /job/NAME over loopback TCP (req/s, wrk)"
set xtics norotate
set xlabel "connections"
set key top left
stats dir."/api.dat" using 2 nooutput
ymax = STATS_max
stats dir."/api.dat" using 5 nooutput
ymax = STATS_max > ymax ? STATS_max : ymax
set yrange [0:ymax * 1.3]
plot dir."/api.dat" using 2:xtic(1) title "jobd" lc rgb "#4472c4", \
     "" using 5 title "nginx, static file of the same size" lc rgb "#a5a5a5"

set style data linespoints
set logscale y
set yrange [*:*]
set title "GET /job/NAME latency (ms, log scale, wrk)"
set key top left
set xrange [-0.3:2.3]
plot dir."/api.dat" using 0:3:xtic(1) title "jobd p50" lw 2 pt 7 lc rgb "#4472c4", \
     "" using 0:4 title "jobd p99" lw 2 pt 5 dt 2 lc rgb "#4472c4", \
     "" using 0:6 title "nginx p50" lw 2 pt 7 lc rgb "#7f7f7f", \
     "" using 0:7 title "nginx p99" lw 2 pt 5 dt 2 lc rgb "#7f7f7f"
unset multiplot

# Shared by the benchmark scripts: build what they need, then run a benchmark main class with a
# fixed, pre-touched heap (heap growth must not count as per-sandbox memory) and the highest
# open-files limit this shell may set. Usage: run_bench MAIN_CLASS [JVM -D options...]
run_bench() {
  local main=$1 cp
  shift
  # One reactor builds and resolves: the project's own modules come from this checkout's target/
  # jars, never from whatever another checkout last installed in ~/.m2.
  ./mvnw -q -B -DskipTests -pl integration-tests -am package dependency:build-classpath \
    '-Dmdep.outputFile=${project.build.directory}/bench.classpath' >/dev/null
  cp=$(cat integration-tests/target/bench.classpath)
  ulimit -n "$(ulimit -Hn)"
  exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Xms1g -Xmx1g -XX:+AlwaysPreTouch \
    -Dhostd.probe="${HOSTD_PROBE:-../shared/probes/kvm-clone-probe.c}" "$@" \
    -cp "integration-tests/target/classes:$cp" "$main"
}

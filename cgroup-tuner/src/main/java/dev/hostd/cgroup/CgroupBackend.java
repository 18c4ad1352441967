package dev.hostd.cgroup;

import java.util.List;

/**
 * One cgroup version's way of giving a sandbox's threads their own CPU group. Groups are named
 * children of hostd's container group; threads are moved one by one (by Linux thread id), because
 * every sandbox lives in the one hostd process. Chosen by {@link CgroupDetection}.
 */
public interface CgroupBackend {
    /** "cgroup v1" or "cgroup v2", with where the container is. */
    String describe();

    /** Creates group {@code name} in the container (idempotent), ready to take threads. */
    void create(String name);

    void setCpu(String name, CpuLimits limits);

    /** Moves thread {@code tid} of this process into group {@code name}. */
    void attach(String name, int tid);

    /** Moves thread {@code tid} back to where hostd's threads live (out of every sandbox group). */
    void detach(int tid);

    /** Thread ids in group {@code name}. */
    int[] threads(String name);

    /** CPU time used by the group's threads since it was made, in ns (cpuacct.usage or cpu.stat usage_usec). */
    long cpuUsageNanos(String name);

    /** Removes group {@code name}; it must have no threads. False if it did not exist. */
    boolean remove(String name);

    /** Names of the groups in the container now. */
    List<String> groups();

    /** The path a thread's line in /proc/PID/task/TID/cgroup shows for group {@code name} (for checks). */
    String procPath(String name);

    /** Removes the (empty) container itself. */
    void removeContainer();
}

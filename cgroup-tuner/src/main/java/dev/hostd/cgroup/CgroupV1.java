package dev.hostd.cgroup;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * cgroup v1: each controller is its own hierarchy (cpu and cpuacct are often mounted together),
 * and v1 moves single threads by writing their id to a group's {@code tasks} file. A sandbox group
 * is a directory {@code <home>/<container>/<name>} in the cpu, cpuacct and (if mounted) cpuset
 * hierarchies; attach writes the thread id to each one's {@code tasks}.
 */
final class CgroupV1 implements CgroupBackend {
    private final CgroupFs fs;
    private final String containerName;
    /** Distinct hierarchies among cpu, cpuacct, cpuset, cpu's first. */
    private final List<V1Hierarchy> hierarchies;
    private final V1Hierarchy cpu, cpuacct, cpuset;

    CgroupV1(CgroupFs fs, List<V1Hierarchy> mounted, String containerName) {
        this.fs = fs;
        this.containerName = containerName;
        this.cpu = find(mounted, "cpu");
        this.cpuacct = find(mounted, "cpuacct");
        this.cpuset = mounted.stream().filter(h -> h.has("cpuset")).findFirst().orElse(null);
        List<V1Hierarchy> distinct = new ArrayList<>();
        for (V1Hierarchy h : new V1Hierarchy[] {cpu, cpuacct, cpuset}) {
            if (h != null && distinct.stream().noneMatch(d -> d.mount().equals(h.mount()))) {
                distinct.add(h);
            }
        }
        this.hierarchies = List.copyOf(distinct);
        for (V1Hierarchy h : hierarchies) {
            Path c = container(h);
            boolean made = fs.mkdir(c);
            if (made && h.has("cpuset")) {
                inheritCpuset(h.homeDir(), c);
            }
        }
    }

    private static V1Hierarchy find(List<V1Hierarchy> mounted, String controller) {
        return mounted.stream().filter(h -> h.has(controller)).findFirst().orElseThrow(() -> CgroupException.unavailable("cgroup v1",
                "no hierarchy with the " + controller + " controller is mounted (see /proc/self/mountinfo)"));
    }

    /** A new cpuset group has empty cpus and mems and takes no threads until both are set: copy the parent's. */
    private void inheritCpuset(Path parent, Path child) {
        fs.write(child.resolve("cpuset.cpus"), fs.read(parent.resolve("cpuset.cpus")).trim(), "copying the parent's CPUs");
        fs.write(child.resolve("cpuset.mems"), fs.read(parent.resolve("cpuset.mems")).trim(), "copying the parent's memory nodes");
    }

    private Path container(V1Hierarchy h) {
        return h.homeDir().resolve(containerName);
    }

    private Path dir(V1Hierarchy h, String name) {
        return container(h).resolve(name);
    }

    @Override
    public String describe() {
        return "cgroup v1 (" + String.join(", ", hierarchies.stream().map(h -> container(h).toString()).toList()) + ")";
    }

    @Override
    public void create(String name) {
        for (V1Hierarchy h : hierarchies) {
            boolean made = fs.mkdir(dir(h, name));
            if (made && h.has("cpuset")) {
                inheritCpuset(container(h), dir(h, name));
            }
        }
    }

    @Override
    public void setCpu(String name, CpuLimits limits) {
        Path d = dir(cpu, name);
        // Quota off first: a new period with the old quota could be refused against the parent's bandwidth.
        fs.write(d.resolve("cpu.cfs_quota_us"), "-1", "lifting the quota before the period changes");
        fs.write(d.resolve("cpu.cfs_period_us"), Long.toString(limits.periodMicros()), "1000..1000000 µs");
        if (limits.quotaMicros() != CpuLimits.NO_QUOTA) {
            fs.write(d.resolve("cpu.cfs_quota_us"), Long.toString(limits.quotaMicros()), "at least 1000 µs, within the parent's quota");
        }
        fs.write(d.resolve("cpu.shares"), Long.toString(limits.shares()), "2..262144");
        if (cpuset != null) {
            String cpus = limits.cpus() != null ? limits.cpus() : fs.read(container(cpuset).resolve("cpuset.cpus")).trim();
            fs.write(dir(cpuset, name).resolve("cpuset.cpus"), cpus, "CPUs must exist and be in hostd's own cpuset");
        } else if (limits.cpus() != null) {
            throw CgroupException.unavailable("set cpus of " + name, "no cpuset hierarchy is mounted");
        }
    }

    @Override
    public void attach(String name, int tid) {
        for (V1Hierarchy h : hierarchies) {
            fs.write(dir(h, name).resolve("tasks"), Integer.toString(tid), "the thread must belong to this process and still run");
        }
    }

    @Override
    public void detach(int tid) {
        for (V1Hierarchy h : hierarchies) {
            fs.write(h.homeDir().resolve("tasks"), Integer.toString(tid), "the thread must belong to this process and still run");
        }
    }

    @Override
    public int[] threads(String name) {
        return CgroupV2.parseIds(fs.read(dir(cpu, name).resolve("tasks")));
    }

    @Override
    public long cpuUsageNanos(String name) {
        return Long.parseLong(fs.read(dir(cpuacct, name).resolve("cpuacct.usage")).trim());
    }

    @Override
    public boolean remove(String name) {
        boolean any = false;
        for (V1Hierarchy h : hierarchies) {
            any |= fs.rmdir(dir(h, name));
        }
        return any;
    }

    @Override
    public List<String> groups() {
        List<String> all = new ArrayList<>();
        for (V1Hierarchy h : hierarchies) {
            for (String g : fs.children(container(h))) {
                if (!all.contains(g)) {
                    all.add(g);
                }
            }
        }
        return all;
    }

    @Override
    public String procPath(String name) {
        String home = cpu.home().equals("/") ? "" : cpu.home();
        return ":" + cpu.controllers() + ":" + home + "/" + containerName + "/" + name;
    }

    @Override
    public void removeContainer() {
        for (V1Hierarchy h : hierarchies) {
            fs.rmdir(container(h));
        }
    }
}

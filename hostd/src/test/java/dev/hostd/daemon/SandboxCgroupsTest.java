package dev.hostd.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.hostd.cgroup.CgroupDetection;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Where the daemon takes its container lock: the directory the backend makes, for v1 and v2. */
class SandboxCgroupsTest {
    @Test
    void v1LocksTheContainerInTheCpuHierarchyBelowItsHome() {
        CgroupDetection.Found found = new CgroupDetection.Found(List.of(
                new CgroupDetection.V1HierarchyView("cpuset", Path.of("/sys/fs/cgroup/cpuset"), "/"),
                new CgroupDetection.V1HierarchyView("cpu,cpuacct", Path.of("/sys/fs/cgroup/cpu,cpuacct"), "/system.slice/hostd.service")),
                Path.of("/sys/fs/cgroup/unified"), "/system.slice/hostd.service");
        assertEquals(Path.of("/sys/fs/cgroup/cpu,cpuacct/system.slice/hostd.service/hostd-sandboxes"),
                SandboxCgroups.containerDirectory(found, "hostd-sandboxes"));
    }

    @Test
    void v2LocksTheContainerBelowTheProcessGroup() {
        CgroupDetection.Found found = new CgroupDetection.Found(List.of(), Path.of("/sys/fs/cgroup"), "/system.slice/hostd.service");
        assertEquals(Path.of("/sys/fs/cgroup/system.slice/hostd.service/c1"), SandboxCgroups.containerDirectory(found, "c1"));
        CgroupDetection.Found atRoot = new CgroupDetection.Found(List.of(), Path.of("/sys/fs/cgroup"), "/");
        assertEquals(Path.of("/sys/fs/cgroup/c1"), SandboxCgroups.containerDirectory(atRoot, "c1"));
    }
}

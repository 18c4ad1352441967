package dev.hostd.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class CgroupDetectionTest {
    /** A v1 host like the development machines: separate cpu and cpuacct, a cgroup2 mount without controllers. */
    @Test
    void aHybridHostIsV1WithEachControllersMountAndHome() {
        CgroupDetection.Found f = CgroupDetection.parse(List.of(
                "30 25 0:26 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu",
                "31 25 0:27 / /sys/fs/cgroup/cpuacct rw,relatime shared:10 - cgroup cgroup rw,cpuacct",
                "32 25 0:28 / /sys/fs/cgroup/cpuset rw,relatime shared:11 - cgroup cgroup rw,cpuset,clone_children",
                "33 25 0:29 / /sys/fs/cgroup/systemd rw,relatime shared:12 - cgroup cgroup rw,xattr,name=systemd",
                "34 25 0:30 / /sys/fs/cgroup/unified rw,relatime shared:13 - cgroup2 cgroup2 rw",
                "40 1 8:1 / / rw,relatime - ext4 /dev/vda rw"),
                List.of("9:name=systemd:/", "4:memory:/job", "3:cpuset:/", "2:cpuacct:/", "1:cpu:/hostd.service", "0::/"));
        assertTrue(f.v1HasCpu());
        assertEquals(List.of(
                new CgroupDetection.V1HierarchyView("cpu", Path.of("/sys/fs/cgroup/cpu"), "/hostd.service"),
                new CgroupDetection.V1HierarchyView("cpuacct", Path.of("/sys/fs/cgroup/cpuacct"), "/"),
                new CgroupDetection.V1HierarchyView("cpuset", Path.of("/sys/fs/cgroup/cpuset"), "/")), f.v1());
        assertEquals(Path.of("/sys/fs/cgroup/unified"), f.v2Mount());
        assertEquals("/", f.v2Path());
    }

    @Test
    void coMountedCpuAndCpuacctAreOneHierarchy() {
        CgroupDetection.Found f = CgroupDetection.parse(List.of(
                "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct"),
                List.of("2:cpu,cpuacct:/system.slice/hostd.service"));
        assertEquals(List.of(new CgroupDetection.V1HierarchyView("cpu,cpuacct", Path.of("/sys/fs/cgroup/cpu,cpuacct"),
                "/system.slice/hostd.service")), f.v1());
    }

    @Test
    void aUnifiedHostIsV2AtTheProcesssGroup() {
        CgroupDetection.Found f = CgroupDetection.parse(List.of(
                "30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot"),
                List.of("0::/system.slice/hostd.service"));
        assertFalse(f.v1HasCpu());
        assertEquals(Path.of("/sys/fs/cgroup"), f.v2Mount());
        assertEquals("/system.slice/hostd.service", f.v2Path());
    }

    @Test
    void aMountOfASubtreeGivesPathsRelativeToItsRoot() {
        CgroupDetection.Found f = CgroupDetection.parse(List.of(
                "30 25 0:26 /kubepods/pod1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw"),
                List.of("0::/kubepods/pod1/hostd"));
        assertEquals("/hostd", f.v2Path());
    }

    @Test
    void noCgroupsAtAllIsAClearError() {
        CgroupDetection.Found f = CgroupDetection.parse(List.of("40 1 8:1 / / rw - ext4 /dev/vda rw"), List.of());
        assertNull(f.v2Mount());
        CgroupException e = assertThrows(CgroupException.class, () -> CgroupDetection.open(f, "hostd"));
        assertTrue(e.getMessage().contains("neither a cgroup v1 hierarchy with the cpu controller nor a cgroup2 mount"), e.getMessage());
    }

    @Test
    void containerNamesThatCouldEscapeOrCollideAreRefused() {
        for (String bad : new String[] {"", "..", "a/b", ".hidden", "cgroup.procs", "x".repeat(65)}) {
            CgroupException e = assertThrows(CgroupException.class, () -> CgroupDetection.validateName(bad));
            assertTrue(e.invalidInput());
        }
        CgroupDetection.validateName("hostd-sandboxes");
    }

    /** Where the daemon takes its container lock and DebPackageIT looks: the directory the backend makes. */
    @Test
    void v1PutsTheContainerInTheCpuHierarchyBelowItsHome() {
        CgroupDetection.Found found = new CgroupDetection.Found(List.of(
                new CgroupDetection.V1HierarchyView("cpuset", Path.of("/sys/fs/cgroup/cpuset"), "/"),
                new CgroupDetection.V1HierarchyView("cpu,cpuacct", Path.of("/sys/fs/cgroup/cpu,cpuacct"), "/system.slice/hostd.service")),
                Path.of("/sys/fs/cgroup/unified"), "/system.slice/hostd.service");
        assertEquals(Path.of("/sys/fs/cgroup/cpu,cpuacct/system.slice/hostd.service/hostd-sandboxes"),
                found.containerDirectory("hostd-sandboxes"));
    }

    @Test
    void noContainerDirectoryWhereNoBackendCouldBeOpened() {
        CgroupDetection.Found none = new CgroupDetection.Found(List.of(), null, null);
        CgroupException e = assertThrows(CgroupException.class, () -> none.containerDirectory("c1"));
        assertTrue(e.getMessage().contains("neither a cgroup v1 hierarchy"), e.getMessage());
        CgroupDetection.Found v2 = new CgroupDetection.Found(List.of(), Path.of("/sys/fs/cgroup"), "/");
        assertThrows(CgroupException.class, () -> v2.containerDirectory("../escape"), "names are checked as open() checks them");
    }

    @Test
    void v2PutsTheContainerBelowTheProcessGroup() {
        CgroupDetection.Found found = new CgroupDetection.Found(List.of(), Path.of("/sys/fs/cgroup"), "/system.slice/hostd.service");
        assertEquals(Path.of("/sys/fs/cgroup/system.slice/hostd.service/c1"), found.containerDirectory("c1"));
        CgroupDetection.Found atRoot = new CgroupDetection.Found(List.of(), Path.of("/sys/fs/cgroup"), "/");
        assertEquals(Path.of("/sys/fs/cgroup/c1"), atRoot.containerDirectory("c1"));
    }
}

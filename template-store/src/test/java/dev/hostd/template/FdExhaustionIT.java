package dev.hostd.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.vmm.VmmException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;

/**
 * Cloning with the process out of file descriptors: the clone fails with HOST_UNAVAILABLE naming
 * EMFILE, releases everything it took (fds, the memory mapping, the vCPU thread, the identity), and
 * the sandboxes that exist keep answering. The soft RLIMIT_NOFILE is lowered so that the k-th new
 * descriptor fails, for k = 0, 1, 2... until a clone succeeds, which fails a clone at each of its
 * descriptor allocations in turn.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS) // hang guard only
class FdExhaustionIT {
    private static final int RLIMIT_NOFILE = 7;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle GETRLIMIT = LINKER.downcallHandle(LINKER.defaultLookup().find("getrlimit").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
    private static final MethodHandle SETRLIMIT = LINKER.downcallHandle(LINKER.defaultLookup().find("setrlimit").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));

    @RegisterExtension
    static final LiveWitness witness = new LiveWitness();

    @Test
    void aCloneWithoutFileDescriptorsIsHostUnavailableAndLeaksNothing() throws Throwable {
        Template template = witness.template;
        String memoryFile = template.directory().resolve("memory").toString();
        // Warm up every class on the clone's success and failure paths: with no fd left, the JVM could not load one.
        try (Sandbox warm = witness.cloner.clone(template, TestIdentities.number(700))) {
            AdoptIT.echo(warm);
        }
        Errors.wrap("warm-up", VmmException.fromErrno("KVM_CREATE_VM", 24)).getMessage();
        GuestStops.class.getName();

        long[] original = getNofile();
        List<Sandbox> made = new ArrayList<>();
        List<TemplateException> failures = new ArrayList<>();
        try {
            for (int headroom = 0; headroom < 8 && made.size() < 2; headroom++) {
                TreeSet<Integer> fdsBefore = openFds(original[0]);
                long mappingsBefore = TestFiles.mappingsOf(memoryFile);
                long vcpusBefore = TestFiles.threadsNamed("vcpu-sbx-");
                int liveBefore = witness.cloner.liveCount();
                int id = 710 + headroom;
                TemplateException failure = null;
                Sandbox sandbox = null;
                setSoftNofile(nthFreeFd(fdsBefore, headroom), original[1]);
                try {
                    sandbox = witness.cloner.clone(template, TestIdentities.number(id));
                } catch (TemplateException e) {
                    failure = e;
                } finally {
                    setSoftNofile(original[0], original[1]);
                }
                if (sandbox != null) {
                    made.add(sandbox);
                    continue;
                }
                failures.add(failure);
                assertEquals(TemplateException.Kind.HOST_UNAVAILABLE, failure.kind(), failure.getMessage());
                assertTrue(failure.getMessage().contains("EMFILE"), failure.getMessage());
                assertTrue(failure.getMessage().contains("file descriptors"), failure.getMessage());
                assertTrue(failure.getMessage().contains("sbx-" + id), "names the sandbox: " + failure.getMessage());
                // Nothing of the failed clone remains.
                assertEquals(fdsBefore, openFds(original[0]), "open fds after the failed clone (headroom " + headroom + ")");
                assertEquals(mappingsBefore, TestFiles.mappingsOf(memoryFile), "mappings of the template memory (headroom " + headroom + ")");
                assertEquals(vcpusBefore, TestFiles.awaitThreadsNamed("vcpu-sbx-", vcpusBefore), "vCPU threads (headroom " + headroom + ")");
                assertEquals(liveBefore, witness.cloner.liveCount(), "identity released (headroom " + headroom + ")");
                // Everything made before still answers.
                witness.assertAnswers();
                made.forEach(AdoptIT::echo);
            }
            assertTrue(failures.size() >= 2, "a clone needs at least a VM fd and a vCPU fd; failures: " + failures.size());
            assertFalse(made.isEmpty(), "with enough descriptors the clone succeeds");
            // The identities of the failed clones are free again.
            try (Sandbox retry = witness.cloner.clone(template, TestIdentities.number(710))) {
                AdoptIT.echo(retry);
            }
        } finally {
            setSoftNofile(original[0], original[1]);
            made.forEach(Sandbox::close);
        }
        witness.assertAnswers();
    }

    /** Numbers of the open descriptors, found with lstat on /proc/self/fd/N, which opens none. */
    static TreeSet<Integer> openFds(long limit) {
        TreeSet<Integer> open = new TreeSet<>();
        for (int fd = 0; fd < Math.min(limit, 1 << 16); fd++) {
            if (Files.exists(Path.of("/proc/self/fd/" + fd), LinkOption.NOFOLLOW_LINKS)) {
                open.add(fd);
            }
        }
        return open;
    }

    /** The soft limit that lets exactly {@code n} more descriptors be opened (the kernel hands out the lowest free number). */
    static int nthFreeFd(TreeSet<Integer> open, int n) {
        int fd = 0;
        for (int seen = 0; ; fd++) {
            if (!open.contains(fd)) {
                if (seen == n) {
                    return fd;
                }
                seen++;
            }
        }
    }

    static long[] getNofile() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment rlimit = arena.allocate(16, 8);
            if ((int) GETRLIMIT.invokeExact(RLIMIT_NOFILE, rlimit) != 0) {
                throw new IllegalStateException("getrlimit(RLIMIT_NOFILE) failed");
            }
            return new long[] {rlimit.get(ValueLayout.JAVA_LONG, 0), rlimit.get(ValueLayout.JAVA_LONG, 8)};
        }
    }

    static void setSoftNofile(long soft, long hard) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment rlimit = arena.allocate(16, 8);
            rlimit.set(ValueLayout.JAVA_LONG, 0, soft);
            rlimit.set(ValueLayout.JAVA_LONG, 8, hard);
            if ((int) SETRLIMIT.invokeExact(RLIMIT_NOFILE, rlimit) != 0) {
                throw new IllegalStateException("setrlimit(RLIMIT_NOFILE, " + soft + ") failed");
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}

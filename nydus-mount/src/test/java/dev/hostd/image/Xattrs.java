package dev.hostd.image;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/** lgetxattr(2) for tests: the JDK's view only reaches the user.* namespace. */
final class Xattrs {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle LGETXATTR = LINKER.downcallHandle(LINKER.defaultLookup().find("lgetxattr").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.JAVA_LONG));

    private Xattrs() {
    }

    static byte[] get(Path p, String name) throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(65536);
            long n = (long) LGETXATTR.invokeExact(a.allocateFrom(p.toString()), a.allocateFrom(name), buf, 65536L);
            if (n < 0) {
                return null;
            }
            return buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
        }
    }
}

package dev.hostd.net.internal;

import static dev.hostd.net.internal.Native.C_INT;
import static dev.hostd.net.internal.Native.C_POINTER;

import dev.hostd.net.NetException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * libnftables ({@code <nftables/libnftables.h>}, Debian {@code libnftables1}) through FFM: one
 * context whose netlink socket lives in the namespace of the thread that created it, commands
 * given as text buffers and applied as one atomic transaction each, output and errors captured.
 * Not thread-safe: one owner thread per context.
 */
public final class LibNftables implements AutoCloseable {
    private static final String LIBRARY = "libnftables.so.1";
    private static volatile Handles handles;
    private final MemorySegment ctx;

    private record Handles(MethodHandle ctxNew, MethodHandle ctxFree, MethodHandle bufferOutput, MethodHandle bufferError,
                           MethodHandle getOutput, MethodHandle getError, MethodHandle runCmd) {}

    private LibNftables(MemorySegment ctx) {
        this.ctx = ctx;
    }

    /** Whether libnftables.so.1 can be loaded on this host. */
    public static boolean available() {
        try {
            handles();
            return true;
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            return false;
        }
    }

    /** A new context in the calling thread's namespace. */
    public static LibNftables create() {
        Handles h = handles();
        try {
            MemorySegment ctx = (MemorySegment) h.ctxNew().invokeExact(0);
            if (ctx.address() == 0) {
                throw new NetException("nft_ctx_new", "nft_ctx_new returned NULL (out of memory?)");
            }
            if ((int) h.bufferOutput().invokeExact(ctx) != 0 || (int) h.bufferError().invokeExact(ctx) != 0) {
                h.ctxFree().invokeExact(ctx);
                throw new NetException("nft_ctx_buffer_output", "could not buffer libnftables output");
            }
            return new LibNftables(ctx);
        } catch (NetException e) {
            throw e;
        } catch (Throwable t) {
            throw new NetException("nft_ctx_new", "libnftables call failed: " + t, t);
        }
    }

    /** Runs {@code commands} as one transaction; returns nft's output (for list commands). */
    public String run(String commands) {
        Handles h = handles();
        try (Arena call = Arena.ofConfined()) {
            int rc = (int) h.runCmd().invokeExact(ctx, call.allocateFrom(commands));
            String error = string((MemorySegment) h.getError().invokeExact(ctx));
            String output = string((MemorySegment) h.getOutput().invokeExact(ctx));
            if (rc != 0) {
                throw new NetException("nft", "nftables refused the commands: " + error.strip() + "\ncommands:\n" + commands);
            }
            return output;
        } catch (NetException e) {
            throw e;
        } catch (Throwable t) {
            throw new NetException("nft_run_cmd_from_buffer", "libnftables call failed: " + t, t);
        }
    }

    @Override
    public void close() {
        try {
            handles().ctxFree().invokeExact(ctx);
        } catch (Throwable t) {
            throw new NetException("nft_ctx_free", "libnftables call failed: " + t, t);
        }
    }

    private static String string(MemorySegment p) {
        return p.address() == 0 ? "" : p.reinterpret(Long.MAX_VALUE).getString(0);
    }

    private static Handles handles() {
        Handles h = handles;
        if (h == null) {
            synchronized (LibNftables.class) {
                if (handles == null) {
                    SymbolLookup lib;
                    try {
                        lib = SymbolLookup.libraryLookup(LIBRARY, Arena.global());
                    } catch (IllegalArgumentException e) {
                        throw new NetException("dlopen " + LIBRARY, LIBRARY + " not found: install Debian's libnftables1 (scripts/setup)", e);
                    }
                    FunctionDescriptor ptrToInt = FunctionDescriptor.of(C_INT, C_POINTER);
                    FunctionDescriptor ptrToPtr = FunctionDescriptor.of(C_POINTER, C_POINTER);
                    handles = new Handles(
                            Native.downcall(lib, "nft_ctx_new", FunctionDescriptor.of(C_POINTER, C_INT)),
                            Native.downcall(lib, "nft_ctx_free", FunctionDescriptor.ofVoid(C_POINTER)),
                            Native.downcall(lib, "nft_ctx_buffer_output", ptrToInt),
                            Native.downcall(lib, "nft_ctx_buffer_error", ptrToInt),
                            Native.downcall(lib, "nft_ctx_get_output_buffer", ptrToPtr),
                            Native.downcall(lib, "nft_ctx_get_error_buffer", ptrToPtr),
                            Native.downcall(lib, "nft_run_cmd_from_buffer", FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER)));
                }
                h = handles;
            }
        }
        return h;
    }
}

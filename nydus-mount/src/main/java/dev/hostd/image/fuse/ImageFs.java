package dev.hostd.image.fuse;

import dev.hostd.image.ImageException;
import dev.hostd.image.backend.ChunkSource;
import dev.hostd.image.format.Bootstrap;
import dev.hostd.image.format.Node;
import dev.hostd.image.trace.ReadLog;
import dev.hostd.image.trace.TraceRecorder;
import jnr.ffi.Pointer;
import ru.serce.jnrfuse.ErrorCodes;
import ru.serce.jnrfuse.FuseFillDir;
import ru.serce.jnrfuse.FuseStubFS;
import ru.serce.jnrfuse.struct.FileStat;
import ru.serce.jnrfuse.struct.FuseFileInfo;
import ru.serce.jnrfuse.struct.Statvfs;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The read-only FUSE file system of one image (libfuse2's path API through jnr-fuse). Metadata
 * comes from the bootstrap alone; only {@link #read} touches chunk data. Called on libfuse's
 * worker threads: everything here is thread-safe (the bootstrap is immutable).
 */
final class ImageFs extends FuseStubFS {
    private static final System.Logger LOG = System.getLogger(ImageFs.class.getName());
    private static final int O_ACCMODE = 3;
    private static final int O_RDONLY = 0;

    private final Bootstrap image;
    private final ChunkSource source;
    private volatile TraceRecorder recorder;
    private final ReadLog readLog;

    ImageFs(ChunkSource source, TraceRecorder recorder, ReadLog readLog) {
        this.image = source.bootstrap();
        this.source = source;
        this.recorder = recorder;
        this.readLog = readLog;
    }

    void stopRecording() {
        recorder = null;
    }

    @Override
    public int getattr(String path, FileStat stat) {
        int n = image.lookup(path);
        if (n < 0) {
            return -ErrorCodes.ENOENT();
        }
        Node node = image.node(n);
        stat.st_mode.set(node.mode());
        stat.st_ino.set(n + 1);
        stat.st_nlink.set(image.linkCount(n));
        stat.st_uid.set(node.uid());
        stat.st_gid.set(node.gid());
        stat.st_size.set(node.isDirectory() ? 4096 : node.size());
        stat.st_rdev.set(node.rdev());
        stat.st_blksize.set(4096);
        stat.st_blocks.set((node.size() + 511) / 512);
        stat.st_mtim.tv_sec.set(node.mtimeSeconds());
        stat.st_mtim.tv_nsec.set(node.mtimeNanos());
        stat.st_ctim.tv_sec.set(node.mtimeSeconds());
        stat.st_ctim.tv_nsec.set(node.mtimeNanos());
        stat.st_atim.tv_sec.set(node.mtimeSeconds());
        stat.st_atim.tv_nsec.set(node.mtimeNanos());
        return 0;
    }

    @Override
    public int readlink(String path, Pointer buf, long size) {
        int n = image.lookup(path);
        if (n < 0) {
            return -ErrorCodes.ENOENT();
        }
        Node node = image.node(n);
        if (!node.isSymlink()) {
            return -ErrorCodes.EINVAL();
        }
        byte[] target = node.linkTarget().getBytes(StandardCharsets.UTF_8);
        int len = (int) Math.min(target.length, size - 1);
        buf.put(0, target, 0, len);
        buf.putByte(len, (byte) 0);
        return 0;
    }

    @Override
    public int readdir(String path, Pointer buf, FuseFillDir filler, long offset, FuseFileInfo fi) {
        int n = image.lookup(path);
        if (n < 0) {
            return -ErrorCodes.ENOENT();
        }
        Node node = image.node(n);
        if (!node.isDirectory()) {
            return -ErrorCodes.ENOTDIR();
        }
        filler.apply(buf, ".", null, 0);
        filler.apply(buf, "..", null, 0);
        for (Node.DirEntry e : node.entries()) {
            if (filler.apply(buf, e.name(), null, 0) != 0) {
                break;
            }
        }
        return 0;
    }

    @Override
    public int open(String path, FuseFileInfo fi) {
        int n = image.lookup(path);
        if (n < 0) {
            return -ErrorCodes.ENOENT();
        }
        if ((fi.flags.get() & O_ACCMODE) != O_RDONLY) {
            return -ErrorCodes.EROFS();
        }
        if (image.node(n).isDirectory()) {
            return -ErrorCodes.EISDIR();
        }
        fi.fh.set(n);
        return 0;
    }

    @Override
    public int read(String path, Pointer buf, long size, long offset, FuseFileInfo fi) {
        int n = (int) fi.fh.get();
        Node node = image.node(n);
        if (!node.isRegular()) {
            return -ErrorCodes.EINVAL();
        }
        if (readLog != null) {
            readLog.add(n, offset, (int) size);
        }
        if (offset >= node.size()) {
            return 0;
        }
        long end = Math.min(node.size(), offset + size);
        int chunkSize = image.chunkSize();
        long pos = offset;
        TraceRecorder rec = recorder;
        try {
            while (pos < end) {
                int k = (int) (pos / chunkSize);
                int chunk = node.chunks()[k];
                if (rec != null) {
                    rec.record(chunk);
                }
                byte[] data = source.chunk(chunk);
                int within = (int) (pos - (long) k * chunkSize);
                int len = (int) Math.min(data.length - within, end - pos);
                buf.put(pos - offset, data, within, len);
                pos += len;
                if (k + 1 < node.chunks().length) {
                    source.readAhead(node.chunks()[k + 1]);
                }
            }
        } catch (ImageException e) {
            LOG.log(System.Logger.Level.ERROR, "read of " + path + " at " + pos + " failed: " + e.getMessage());
            return -ErrorCodes.EIO();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "read of " + path + " at " + pos + " failed", e);
            return -ErrorCodes.EIO();
        }
        return (int) (end - offset);
    }

    @Override
    public int statfs(String path, Statvfs st) {
        long bytes = image.uncompressedBytes();
        st.f_bsize.set(4096);
        st.f_frsize.set(4096);
        st.f_blocks.set((bytes + 4095) / 4096);
        st.f_bfree.set(0);
        st.f_bavail.set(0);
        st.f_files.set(image.nodes().size());
        st.f_ffree.set(0);
        st.f_favail.set(0);
        st.f_namemax.set(255);
        st.f_flag.set(Statvfs.ST_RDONLY | Statvfs.ST_NOSUID | Statvfs.ST_NODEV);
        return 0;
    }

    @Override
    public int getxattr(String path, String name, Pointer value, long size) {
        int n = image.lookup(path);
        if (n < 0) {
            return -ErrorCodes.ENOENT();
        }
        byte[] v = image.node(n).xattrs().get(name);
        if (v == null) {
            return -ErrorCodes.ENODATA();
        }
        if (size == 0) {
            return v.length;
        }
        if (size < v.length) {
            return -ErrorCodes.ERANGE();
        }
        value.put(0, v, 0, v.length);
        return v.length;
    }

    @Override
    public int listxattr(String path, Pointer list, long size) {
        int n = image.lookup(path);
        if (n < 0) {
            return -ErrorCodes.ENOENT();
        }
        int total = 0;
        for (Map.Entry<String, byte[]> x : image.node(n).xattrs().entrySet()) {
            total += x.getKey().getBytes(StandardCharsets.UTF_8).length + 1;
        }
        if (size == 0) {
            return total;
        }
        if (size < total) {
            return -ErrorCodes.ERANGE();
        }
        long at = 0;
        for (String name : image.node(n).xattrs().keySet()) {
            byte[] b = name.getBytes(StandardCharsets.UTF_8);
            list.put(at, b, 0, b.length);
            list.putByte(at + b.length, (byte) 0);
            at += b.length + 1;
        }
        return total;
    }
}

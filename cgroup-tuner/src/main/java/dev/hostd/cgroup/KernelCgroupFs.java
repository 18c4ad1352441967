package dev.hostd.cgroup;

import dev.hostd.cgroup.internal.CgroupFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** cgroupfs through libc (errno names in errors) for writes, mkdir and rmdir; java.nio for reads. */
final class KernelCgroupFs implements CgroupFs {
    static final KernelCgroupFs INSTANCE = new KernelCgroupFs();
    private static final int ENOENT = 2, EEXIST = 17;

    private KernelCgroupFs() {}

    @Override
    public void write(Path file, String value, String hint) {
        int r = CgroupFiles.write(file.toString(), value);
        if (r < 0) {
            throw CgroupException.fromErrno("writing '" + value + "' to " + file, r, hint);
        }
    }

    @Override
    public boolean mkdir(Path dir) {
        int r = CgroupFiles.mkdir(dir.toString());
        if (r == -EEXIST) {
            return false;
        }
        if (r < 0) {
            throw CgroupException.fromErrno("mkdir " + dir, r, "hostd needs write access to the cgroup hierarchy (root, or Delegate=yes in its unit)");
        }
        return true;
    }

    @Override
    public boolean rmdir(Path dir) {
        int r = CgroupFiles.rmdir(dir.toString());
        if (r == -ENOENT) {
            return false;
        }
        if (r < 0) {
            throw CgroupException.fromErrno("rmdir " + dir, r, "a cgroup can be removed only without threads or child groups");
        }
        return true;
    }

    @Override
    public String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw CgroupException.unavailable("reading " + file, e.toString());
        }
    }

    @Override
    public boolean exists(Path file) {
        return Files.exists(file);
    }

    @Override
    public List<String> children(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList();
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            throw CgroupException.unavailable("listing " + dir, e.toString());
        }
    }
}

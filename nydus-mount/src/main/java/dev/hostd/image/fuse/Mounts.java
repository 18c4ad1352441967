package dev.hostd.image.fuse;

import dev.hostd.image.ImageException;
import dev.hostd.image.internal.MountCalls;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;

/** Mount table facts: is a path a mount point, is it a dead FUSE mount, unmount it. */
public final class Mounts {
    private static final System.Logger LOG = System.getLogger(Mounts.class.getName());

    private Mounts() {
    }

    /** The file system type mounted exactly at {@code path} (from /proc/self/mountinfo), or null. */
    public static String fsTypeAt(Path path) {
        String want = path.toAbsolutePath().normalize().toString();
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/self/mountinfo"));
            String found = null;
            for (String line : lines) {
                String[] f = line.split(" ");
                int dash = line.indexOf(" - ");
                if (f.length < 5 || dash < 0) {
                    continue;
                }
                if (unescape(f[4]).equals(want)) {
                    found = line.substring(dash + 3).split(" ")[0]; // the last (top) mount wins
                }
            }
            return found;
        } catch (IOException e) {
            throw new ImageException("read /proc/self/mountinfo", "EIO", e.toString(), e);
        }
    }

    private static String unescape(String s) {
        return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\");
    }

    /** True when stat on the path fails with ENOTCONN: a FUSE mount whose daemon died. */
    public static boolean isStale(Path path) {
        try {
            Files.readAttributes(path, BasicFileAttributes.class);
            return false;
        } catch (FileSystemException e) {
            return e.getReason() != null && e.getReason().contains("Transport endpoint is not connected");
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Makes {@code mountpoint} ready for a new mount: a stale FUSE mount left by a killed process is
     * detached (MNT_DETACH: processes still inside see ENOTCONN, nothing else is affected); a live
     * mount is refused.
     */
    public static void prepare(Path mountpoint) {
        if (isStale(mountpoint)) {
            int err = MountCalls.umount2(mountpoint.toAbsolutePath().toString(), MountCalls.MNT_DETACH);
            if (err != 0) {
                throw new ImageException("clean stale mount " + mountpoint, MountCalls.errnoName(err),
                        "a dead FUSE mount is in the way; try: fusermount -u -z " + mountpoint);
            }
            LOG.log(System.Logger.Level.WARNING, "detached a stale FUSE mount at " + mountpoint
                    + " (its process had died)");
        }
        if (!Files.isDirectory(mountpoint)) {
            throw new ImageException("mount " + mountpoint, "ENOTDIR", "the mount point must be an existing directory");
        }
        String type = fsTypeAt(mountpoint);
        if (type != null && type.startsWith("fuse")) {
            throw new ImageException("mount " + mountpoint, "EBUSY", "something (" + type + ") is mounted there already");
        }
    }

    /** Unmounts; when busy and {@code lazyIfBusy}, detaches instead. Returns 0 or the errno. */
    public static int unmount(Path mountpoint, boolean lazyIfBusy) {
        String p = mountpoint.toAbsolutePath().toString();
        int err = MountCalls.umount2(p, 0);
        if (err == 16 && lazyIfBusy) {
            LOG.log(System.Logger.Level.WARNING, mountpoint + " is busy; detaching it lazily");
            err = MountCalls.umount2(p, MountCalls.MNT_DETACH);
        }
        return err;
    }
}

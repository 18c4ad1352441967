package dev.hostd.image.format;

import java.util.List;
import java.util.SortedMap;

/**
 * One inode of the merged tree. {@code mode} carries the file type bits (S_IFREG, S_IFDIR...).
 * Regular files list their chunks in file order (each chunk but the last is exactly the image's
 * chunk size); directories list their entries sorted by name; symlinks carry their target.
 * Hard links are several directory entries naming the same node.
 */
public record Node(int mode, int uid, int gid, long mtimeSeconds, int mtimeNanos, long size, long rdev,
                   SortedMap<String, byte[]> xattrs, String linkTarget, int[] chunks, List<DirEntry> entries) {
    public static final int S_IFMT = 0170000;
    public static final int S_IFSOCK = 0140000;
    public static final int S_IFLNK = 0120000;
    public static final int S_IFREG = 0100000;
    public static final int S_IFBLK = 0060000;
    public static final int S_IFDIR = 0040000;
    public static final int S_IFCHR = 0020000;
    public static final int S_IFIFO = 0010000;

    public int type() {
        return mode & S_IFMT;
    }

    public boolean isDirectory() {
        return type() == S_IFDIR;
    }

    public boolean isRegular() {
        return type() == S_IFREG;
    }

    public boolean isSymlink() {
        return type() == S_IFLNK;
    }

    public record DirEntry(String name, int node) {
    }
}

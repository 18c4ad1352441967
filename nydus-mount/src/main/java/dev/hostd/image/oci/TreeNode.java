package dev.hostd.image.oci;

import dev.hostd.image.format.Node;

import java.util.TreeMap;

/** A node of the tree while layers are merged; hard links are two entries holding the same object. */
final class TreeNode {
    int mode;
    int uid;
    int gid;
    long mtimeSeconds;
    int mtimeNanos;
    long rdev;
    long size;
    String linkTarget;
    int[] chunks = new int[0];
    TreeMap<String, byte[]> xattrs = new TreeMap<>();
    /** Children by name, for directories. */
    TreeMap<String, TreeNode> children;
    /** The layer that created this node: an opaque marker removes only children of lower layers. */
    final int layer;

    TreeNode(int mode, int layer) {
        this.mode = mode;
        this.layer = layer;
        if ((mode & Node.S_IFMT) == Node.S_IFDIR) {
            children = new TreeMap<>();
        }
    }

    boolean isDirectory() {
        return (mode & Node.S_IFMT) == Node.S_IFDIR;
    }

    boolean isSymlink() {
        return (mode & Node.S_IFMT) == Node.S_IFLNK;
    }
}

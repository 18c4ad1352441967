package dev.hostd.bench.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The full-pull baseline applies OCI whiteouts as a runtime does, on layers packed by GNU tar. */
class LayerUnpackerTest {
    @TempDir
    Path tmp;

    @Test
    void whiteoutsRemoveLowerEntriesAndOpaqueDirsKeepOnlyTheirOwnLayer() throws IOException {
        Path l1 = Files.createDirectories(tmp.resolve("l1"));
        write(l1.resolve("a/x"), "x");
        write(l1.resolve("a/y"), "y");
        write(l1.resolve("b/old"), "old");
        write(l1.resolve("c/sub/deep"), "deep");
        Path l2 = Files.createDirectories(tmp.resolve("l2"));
        write(l2.resolve("a/.wh.x"), "");
        write(l2.resolve("b/.wh..wh..opq"), "");
        write(l2.resolve("b/new"), "new");
        write(l2.resolve(".wh.c"), "");
        Path root = Files.createDirectories(tmp.resolve("root"));

        LayerUnpacker.unpack(tar(l1, "l1.tar.gz"), root);
        LayerUnpacker.unpack(tar(l2, "l2.tar.gz"), root);

        assertFalse(Files.exists(root.resolve("a/x")), "a/x whited out");
        assertEquals("y", Files.readString(root.resolve("a/y")));
        assertFalse(Files.exists(root.resolve("b/old")), "opaque b/ hides the lower layer's b/old");
        assertEquals("new", Files.readString(root.resolve("b/new")), "opaque b/ keeps its own layer's entries");
        assertFalse(Files.exists(root.resolve("c")), "whiteout of a whole directory");
        assertFalse(Files.exists(root.resolve("a/.wh.x")), "whiteout markers are not left in the tree");
        assertFalse(Files.exists(root.resolve(".wh.c")));
        assertFalse(Files.exists(root.resolve("b/.wh..wh..opq")), "opaque marker consumed");
    }

    private Path tar(Path dir, String name) throws IOException {
        Path out = tmp.resolve(name);
        Cmd.run("tar", "-czf", out.toString(), "-C", dir.toString(), ".");
        return out;
    }

    private static void write(Path p, String s) throws IOException {
        Files.createDirectories(p.getParent());
        Files.writeString(p, s);
    }
}

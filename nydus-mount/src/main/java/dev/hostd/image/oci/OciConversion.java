package dev.hostd.image.oci;

import dev.hostd.image.ImageConverter;
import dev.hostd.image.ImageException;
import dev.hostd.image.format.Bootstrap;
import dev.hostd.image.format.BootstrapCodec;
import dev.hostd.image.format.Digest;
import dev.hostd.image.format.Node;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/** The conversion itself: layers in, merged tree and chunks out (see {@link ImageConverter}). */
public final class OciConversion {
    private OciConversion() {
    }

    public static ImageConverter.Result run(Path ociLayout, Path imageDir, ImageConverter.Options options) {
        OciLayout layout = new OciLayout(ociLayout);
        List<OciLayout.Layer> layers = layout.layers(options.ref());
        Path blobDir = options.blobDir() != null ? options.blobDir() : imageDir.resolve("blobs");
        try {
            Files.createDirectories(imageDir);
            try (ChunkSink sink = new ChunkSink(blobDir, options.dedupWith(), options.lz4Level())) {
                LayerMerger merger = new LayerMerger(sink, options.chunkSize());
                for (int i = 0; i < layers.size(); i++) {
                    applyLayer(layout, layers.get(i), i, merger);
                }
                ChunkSink.Result chunks = sink.finish();
                List<Node> nodes = flatten(merger.root);
                Path file = imageDir.resolve(Bootstrap.FILE_NAME);
                Bootstrap b = BootstrapCodec.write(file, options.chunkSize(), chunks.blobs(), chunks.chunks(), nodes);
                return new ImageConverter.Result(b, file, blobDir, merger.entries(), sink.storedChunks(), sink.reusedBytes());
            }
        } catch (IOException e) {
            throw new ImageException("convert " + ociLayout, "EIO", e.toString(), e);
        }
    }

    private static void applyLayer(OciLayout layout, OciLayout.Layer layer, int index, LayerMerger merger)
            throws IOException {
        Path file = layout.blob(layer.digest());
        if (!Files.isRegularFile(file)) {
            throw ImageException.corrupt("convert layer " + layer.digest(), "blob file " + file + " is missing");
        }
        MessageDigest md = Digest.newSha256();
        try (InputStream raw = new DigestInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16), md)) {
            InputStream tar = raw;
            if (layer.gzip()) {
                tar = new GZIPInputStream(raw, 1 << 16);
            }
            try {
                merger.apply(tar, index, layer.digest().toString());
            } catch (IOException e) {
                throw ImageException.corrupt("convert layer " + layer.digest(), "unreadable tar: " + e.getMessage());
            }
            // The tar may end before the blob does (padding): the digest covers every byte.
            raw.transferTo(OutputStreamSink.NULL);
        }
        Digest actual = Digest.of(md.digest());
        if (!actual.equals(layer.digest())) {
            throw ImageException.corrupt("convert layer " + layer.digest(), "content has digest " + actual
                    + ": the layout is corrupt");
        }
    }

    /** Numbers nodes breadth-first from the root (0); a hard-linked node gets one number. */
    private static List<Node> flatten(TreeNode root) {
        Map<TreeNode, Integer> index = new IdentityHashMap<>();
        List<TreeNode> order = new ArrayList<>();
        ArrayDeque<TreeNode> work = new ArrayDeque<>();
        index.put(root, 0);
        order.add(root);
        work.add(root);
        while (!work.isEmpty()) {
            TreeNode dir = work.poll();
            for (TreeNode child : dir.children.values()) {
                if (!index.containsKey(child)) {
                    index.put(child, order.size());
                    order.add(child);
                    if (child.isDirectory()) {
                        work.add(child);
                    }
                }
            }
        }
        List<Node> nodes = new ArrayList<>(order.size());
        for (TreeNode t : order) {
            List<Node.DirEntry> entries = null;
            if (t.isDirectory()) {
                entries = new ArrayList<>();
                for (var e : t.children.entrySet()) {
                    entries.add(new Node.DirEntry(e.getKey(), index.get(e.getValue())));
                }
            }
            boolean regular = (t.mode & Node.S_IFMT) == Node.S_IFREG;
            nodes.add(new Node(t.mode, t.uid, t.gid, t.mtimeSeconds, t.mtimeNanos,
                    t.isDirectory() ? 0 : t.size, t.rdev, t.xattrs, t.linkTarget, regular ? t.chunks : null, entries));
        }
        return nodes;
    }

    private static final class OutputStreamSink extends java.io.OutputStream {
        static final OutputStreamSink NULL = new OutputStreamSink();

        @Override
        public void write(int b) {
        }

        @Override
        public void write(byte[] b, int off, int len) {
        }
    }
}

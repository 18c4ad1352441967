package dev.hostd.vmm.snapshot;

/**
 * One top-level section of a state file.
 *
 * @param name   {@code MACHINE}, {@code MEMORY}, {@code VM}, {@code VCPU}, {@code DEVICE}, {@code METADATA},
 *               or for a tag this hostd does not know its four characters (or hex)
 * @param tag    the tag as stored (four ASCII characters read as a little-endian u32)
 * @param offset file offset of the first payload byte (after the 16-byte section header)
 * @param length payload length in bytes
 */
public record SectionInfo(String name, int tag, long offset, long length) {}

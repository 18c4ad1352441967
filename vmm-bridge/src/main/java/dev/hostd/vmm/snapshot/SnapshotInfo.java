package dev.hostd.vmm.snapshot;

import java.util.List;

/**
 * What {@link SnapshotFile#inspect} finds in a state file without building the state.
 *
 * @param formatMajor   major format version from the header
 * @param formatMinor   minor format version from the header
 * @param bodyLength    body length the header promises
 * @param crc32c        body CRC32C the header records
 * @param checksumValid true only if the file holds exactly the promised body and its CRC32C matches
 * @param sections      the top-level sections, in file order, as far as they could be walked
 */
public record SnapshotInfo(int formatMajor, int formatMinor, long bodyLength, int crc32c, boolean checksumValid,
        List<SectionInfo> sections) {
    public SnapshotInfo {
        sections = List.copyOf(sections);
    }
}

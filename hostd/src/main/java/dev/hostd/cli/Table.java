package dev.hostd.cli;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** An aligned text table: columns separated by two spaces, no trailing blanks. */
final class Table {
    private final List<String[]> rows = new ArrayList<>();
    private final int columns;
    private final boolean[] rightAligned;

    private Table(String... headers) {
        this.columns = headers.length;
        this.rightAligned = new boolean[columns];
        if (headers.length > 0 && headers[0] != null) {
            rows.add(headers);
        }
    }

    /** A table whose first row is {@code headers}. */
    static Table withHeaders(String... headers) {
        return new Table(headers);
    }

    /** A two-column "name: value" listing without a header row. */
    static Table keyValue() {
        Table t = new Table(new String[] {null, null});
        t.rows.clear();
        return t;
    }

    /** Right-aligns the given columns (numbers). */
    Table right(int... columnIndexes) {
        for (int c : columnIndexes) {
            rightAligned[c] = true;
        }
        return this;
    }

    Table row(Object... cells) {
        if (cells.length != columns) {
            throw new IllegalArgumentException("row has " + cells.length + " cells, table has " + columns);
        }
        rows.add(Arrays.stream(cells).map(c -> c == null ? "-" : c.toString()).toArray(String[]::new));
        return this;
    }

    boolean isEmpty() {
        return rows.isEmpty();
    }

    String render() {
        int[] width = new int[columns];
        for (String[] r : rows) {
            for (int c = 0; c < columns; c++) {
                width[c] = Math.max(width[c], r[c].length());
            }
        }
        StringBuilder sb = new StringBuilder();
        for (String[] r : rows) {
            StringBuilder line = new StringBuilder();
            for (int c = 0; c < columns; c++) {
                if (c > 0) {
                    line.append("  ");
                }
                String cell = r[c];
                String pad = " ".repeat(width[c] - cell.length());
                line.append(rightAligned[c] ? pad + cell : cell + pad);
            }
            sb.append(line.toString().stripTrailing()).append('\n');
        }
        return sb.toString();
    }
}

//! Monospace tables for replies: Discord shows a code block in a fixed-width font.

use unicode_width::UnicodeWidthStr as _;

/// A table as a code block: columns padded by display width (emoji count double), rows
/// kept while the whole stays within `budget` bytes. Returns the block and how many rows
/// it holds, so the caller can say how many were left out.
pub fn code_block_table(header: &[&str], rows: &[Vec<String>], budget: usize) -> (String, usize) {
    let widths: Vec<usize> = (0..header.len())
        .map(|column| {
            rows.iter()
                .filter_map(|row| row.get(column))
                .map(|cell| cell.width())
                .chain([header[column].width()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &mut dyn Iterator<Item = &str>| -> String {
        let padded: Vec<String> = cells
            .zip(&widths)
            .map(|(cell, width)| {
                format!("{cell}{}", " ".repeat(width.saturating_sub(cell.width())))
            })
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut block = String::from("```\n");
    block.push_str(&line(&mut header.iter().copied()));
    block.push('\n');
    let mut shown = 0;
    for row in rows {
        let next = line(&mut row.iter().map(String::as_str));
        if block.len() + next.len() + 4 > budget {
            break;
        }
        block.push_str(&next);
        block.push('\n');
        shown += 1;
    }
    block.push_str("```");
    (block, shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_by_display_width_and_rows_stop_at_the_budget() {
        let rows = vec![
            vec!["web-1".to_owned(), "🟢 running".to_owned()],
            vec!["database".to_owned(), "⚪ deallocated".to_owned()],
        ];
        let (block, shown) = code_block_table(&["NAME", "STATE"], &rows, 1000);
        expect_test::expect![[r#"
            ```
            NAME      STATE
            web-1     🟢 running
            database  ⚪ deallocated
            ```"#]]
        .assert_eq(&block);
        assert_eq!(shown, 2);
        let (block, shown) = code_block_table(&["NAME", "STATE"], &rows, 50);
        assert_eq!((shown, block.lines().count()), (1, 4));
    }
}

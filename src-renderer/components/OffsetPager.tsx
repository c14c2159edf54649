/** Previous/next for a list the server pages by offset and counts in full (shown as "1–50 of 120"). */
export function OffsetPager({
  offset,
  pageSize,
  shown,
  total,
  onOffset,
}: {
  offset: number;
  pageSize: number;
  /** Rows on the current page. */
  shown: number;
  total: number;
  onOffset: (offset: number) => void;
}) {
  return (
    <div className="pager">
      <button type="button" disabled={offset === 0} onClick={() => onOffset(Math.max(0, offset - pageSize))}>
        Previous
      </button>
      <span>
        {offset + 1}–{offset + shown} of {total}
      </span>
      <button type="button" disabled={offset + pageSize >= total} onClick={() => onOffset(offset + pageSize)}>
        Next
      </button>
    </div>
  );
}

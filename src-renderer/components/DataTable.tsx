import type { ReactNode, TableHTMLAttributes } from 'react';

/** A column heading; `{ hidden }` is for screen readers only (e.g. a column of row buttons). */
export type Column = string | { hidden: string };

/** The console's data table (class `data`): headings from `columns`, the body rows as children. */
export function DataTable({
  columns,
  className,
  children,
  ...rest
}: { columns: readonly Column[]; children: ReactNode } & Omit<TableHTMLAttributes<HTMLTableElement>, 'children'>) {
  return (
    <table className={className ? `data ${className}` : 'data'} {...rest}>
      <thead>
        <tr>
          {columns.map((c) =>
            typeof c === 'string' ? (
              <th key={c}>{c}</th>
            ) : (
              <th key={c.hidden}>
                <span className="sr-only">{c.hidden}</span>
              </th>
            ),
          )}
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}

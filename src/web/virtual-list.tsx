// A list that renders only the rows in view (plus a few), so 1000 replicas or 5000 log lines cost
// what 30 do. Rows have one fixed height; the scroll container keeps the full height with a spacer.

import type { ComponentChildren } from 'preact';
import { useLayoutEffect, useRef, useState } from 'preact/hooks';

export interface VirtualListProps {
  count: number;
  rowHeight: number;
  /** Height of the viewport in pixels. */
  height: number;
  renderRow: (index: number) => ComponentChildren;
  /** Keep the view at the bottom while it is there (a log tail). */
  stickToBottom?: boolean;
  label: string;
  className?: string;
  role?: 'list' | 'listbox';
}

const OVERSCAN = 8;

export function VirtualList(props: VirtualListProps) {
  const ref = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const atBottom = useRef(true);

  useLayoutEffect(() => {
    const el = ref.current;
    if (el && props.stickToBottom && atBottom.current) {
      el.scrollTop = el.scrollHeight;
      setTop(el.scrollTop);
    }
  }, [props.count, props.stickToBottom]);

  const first = Math.max(0, Math.floor(top / props.rowHeight) - OVERSCAN);
  const last = Math.min(props.count, Math.ceil((top + props.height) / props.rowHeight) + OVERSCAN);
  const rows = [];
  for (let i = first; i < last; i++) {
    rows.push(
      <div key={i} class="vrow" style={{ top: `${i * props.rowHeight}px`, height: `${props.rowHeight}px` }}>
        {props.renderRow(i)}
      </div>,
    );
  }
  return (
    <div
      ref={ref}
      class={`vlist ${props.className ?? ''}`}
      style={{ height: `${props.height}px` }}
      tabIndex={0}
      role={props.role ?? 'list'}
      aria-label={props.label}
      onScroll={(e) => {
        const el = e.currentTarget as HTMLDivElement;
        atBottom.current = el.scrollTop + el.clientHeight >= el.scrollHeight - props.rowHeight;
        setTop(el.scrollTop);
      }}
    >
      <div class="vspacer" style={{ height: `${props.count * props.rowHeight}px` }}>
        {rows}
      </div>
    </div>
  );
}

import { useEffect, useRef, useState } from 'react';

/**
 * A polite live region that announces `message` at most once per `minGapMs`: changes in
 * between are folded into the latest, so a flapping connection does not flood a screen
 * reader. Prices are never announced (they change many times a second).
 */
export function Announcer({ message, minGapMs = 5_000 }: { message: string; minGapMs?: number }) {
  const [spoken, setSpoken] = useState('');
  const last = useRef(0);
  useEffect(() => {
    const wait = Math.max(0, last.current + minGapMs - Date.now());
    const timer = setTimeout(() => {
      last.current = Date.now();
      setSpoken(message);
    }, wait);
    return () => clearTimeout(timer);
  }, [message, minGapMs]);
  return (
    <div role="status" aria-live="polite" className="sr-only">
      {spoken}
    </div>
  );
}

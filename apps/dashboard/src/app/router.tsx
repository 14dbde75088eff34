import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from 'react';

/**
 * A router of two routes is a few lines: the History API, a `popstate` listener, and links
 * that are real <a href> elements (keyboard, middle-click and "open in new tab" keep working).
 * The dashboard server answers index.html for any path without an extension.
 */
export type Route = { page: 'market' } | { page: 'symbol'; symbol: string } | { page: 'not-found' };

export function routeOf(pathname: string): Route {
  if (pathname === '/' || pathname === '') return { page: 'market' };
  const match = /^\/symbols\/([^/]+)\/?$/.exec(pathname);
  if (match) {
    try {
      return { page: 'symbol', symbol: decodeURIComponent(match[1]).toUpperCase() };
    } catch {
      return { page: 'not-found' };
    }
  }
  return { page: 'not-found' };
}

export const symbolPath = (symbol: string) => `/symbols/${encodeURIComponent(symbol)}`;

const NAVIGATED = 'md:navigate';

export function navigate(to: string): void {
  if (to === window.location.pathname) return;
  window.history.pushState(null, '', to);
  window.dispatchEvent(new Event(NAVIGATED));
}

export function useRoute(): Route {
  const [pathname, setPathname] = useState(() => window.location.pathname);
  useEffect(() => {
    const update = () => setPathname(window.location.pathname);
    window.addEventListener('popstate', update);
    window.addEventListener(NAVIGATED, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(NAVIGATED, update);
    };
  }, []);
  return routeOf(pathname);
}

export function Link({ to, onClick, ...props }: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }) {
  const follow = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    // Let the browser handle new tabs/windows and anything already handled.
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
    window.scrollTo({ top: 0 });
  };
  return <a href={to} onClick={follow} {...props} />;
}

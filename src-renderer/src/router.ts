// The views behind vue-router with hash history, so the addresses bookmarks and the e2e tests use
// keep working: #/ (history), #/new, #/monitor, #/compare?runs=1,2,3 or ?study=ID, #/export?study=3
// or ?runs=1,2, #/inspect?run=12&vs=13. Each view gets the query after its name as one string
// (`query`), which it parses itself into a sentence when a value is wrong (not a silent redirect).
import { createRouter, createWebHashHistory, type LocationQuery, type RouteLocationRaw } from 'vue-router';
import History from './views/History.vue';

/** The views, by route name; `RouteName` is what `routeTo` and the tabs accept. */
export const VIEWS = ['history', 'new', 'monitor', 'compare', 'inspect', 'export'] as const;
export type RouteName = (typeof VIEWS)[number];

/** The query as a view reads it ("run=12&vs=13"); commas kept readable as in the address. */
export function queryString(query: LocationQuery): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query))
    for (const v of Array.isArray(value) ? value : [value]) params.append(key, v ?? '');
  return params.toString().replace(/%2C/gi, ',');
}

const asQuery = (route: { query: LocationQuery }) => ({ query: queryString(route.query) });

/** The typed way to name a view and its query: `routeTo('compare', { runs: [1, 2] })`. */
export interface RouteQueries {
  history: Record<string, never>;
  new: Record<string, never>;
  monitor: Record<string, never>;
  compare: { runs: number[] } | { study: number } | Record<string, never>;
  inspect: { run: number; vs?: number | null } | Record<string, never>;
  export: { runs: number[] } | { study: number } | Record<string, never>;
}

export function routeTo<N extends RouteName>(name: N, query?: RouteQueries[N]): RouteLocationRaw {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(query ?? {}) as [string, unknown][]) {
    if (value === null || value === undefined) continue;
    out[key] = Array.isArray(value) ? [...value].sort((a, b) => a - b).join(',') : String(value);
  }
  return { name, query: out };
}

export function createAppRouter() {
  return createRouter({
    history: createWebHashHistory(),
    routes: [
      { path: '/', name: 'history', component: History },
      // Loaded on first use: ECharts (monitor) and zod (form) are most of the page's weight, and
      // the history view needs neither.
      { path: '/new', name: 'new', component: () => import('./views/NewRun.vue') },
      { path: '/monitor', name: 'monitor', component: () => import('./views/Monitor.vue') },
      { path: '/compare', name: 'compare', component: () => import('./views/Compare.vue'), props: asQuery },
      { path: '/inspect', name: 'inspect', component: () => import('./views/Inspector.vue'), props: asQuery },
      { path: '/export', name: 'export', component: () => import('./views/Export.vue'), props: asQuery },
      // An address from elsewhere (or mistyped) opens the history, as the old router did.
      { path: '/:rest(.*)*', redirect: '/' },
    ],
  });
}

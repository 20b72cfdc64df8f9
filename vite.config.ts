// The renderer build: src-renderer/ -> dist/renderer/, loaded by the desktop window (file://)
// and served by browser mode (http://127.0.0.1), hence relative asset paths.
import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('./src-renderer', import.meta.url)),
  base: './',
  plugins: [vue()],
  build: {
    outDir: fileURLToPath(new URL('./dist/renderer', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // Chromium and Electron preload modules natively; the polyfill is code the CSP need not see.
    modulePreload: { polyfill: false },
    // The chart views' shared chunk carries ECharts (core + canvas renderer alone are ~420 kB;
    // with the inspector's bar, heatmap and visualMap ~645 kB); it loads only when a chart view
    // opens, so the first page stays ~90 kB.
    chunkSizeWarningLimit: 700,
  },
});

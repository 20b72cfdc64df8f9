// The page's entry: one host client (IPC or WebSocket), one Pinia, the app.
import { PiniaColada } from '@pinia/colada';
import { createPinia } from 'pinia';
import { createApp } from 'vue';
import App from './App.vue';
import { createAppRouter } from './router.js';
import { createHostClient } from './api/client.js';
import { useLiveStore } from './stores/live.js';
import { useRunsStore } from './stores/runs.js';
import './style.css';

const app = createApp(App);
app.use(createPinia());
// The inspector's host answers are cached queries (stores/inspector/).
app.use(PiniaColada);
app.use(createAppRouter());
const runs = useRunsStore();
const client = createHostClient();
runs.attach(client);
// The monitor's live curves listen to the same client's events.
useLiveStore().attach(client);
// Runs started from the CLI send no events here: reload when the user comes back to the page.
window.addEventListener('focus', () => void runs.refresh());
app.mount('#app');

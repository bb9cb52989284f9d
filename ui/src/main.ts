// Entry point: mounts the app into #app, or, in a ringing window (`?ringing=<call id>`, opened
// by src-tauri/src/ringing.rs), that call's ringing view.
import { mount } from 'svelte';
import App from './App.svelte';
import RingingWindow from './components/RingingWindow.svelte';
import { ringingCallId } from './lib/ringing';
import './app.css';

const target = document.getElementById('app');
if (!target) throw new Error('missing #app element');
const ringing = ringingCallId(window.location.search);
export default ringing === null ? mount(App, { target }) : mount(RingingWindow, { target, props: { id: ringing } });

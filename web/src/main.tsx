import { render } from 'preact';
import { App } from './app';
import './styles.css';

const root = document.getElementById('root')!;
// index.html's "Loading…" is for the moment before this script runs; Preact does not replace it.
root.replaceChildren();
render(<App />, root);

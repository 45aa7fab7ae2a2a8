/**
 * A point where code under test waits until the test lets it pass: `pass()` is what the code
 * awaits, `reached` resolves once something waits there, and `open()` lets everything through.
 */
export function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  let arrive!: () => void;
  const reached = new Promise<void>((resolve) => (arrive = resolve));
  return { open, reached, pass: () => (arrive(), opened) };
}

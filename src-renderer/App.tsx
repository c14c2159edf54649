/**
 * The console shell. It states what the console is for and nothing more: the screens named here
 * are built in later issues, and until then this page shows no data and offers no controls.
 */
export function App() {
  return (
    <main className="shell">
      <header>
        <h1>OVR-ALPR Console</h1>
        <p className="tagline">Automatic licence-plate recognition at the edge.</p>
      </header>
      <section aria-labelledby="plans">
        <h2 id="plans">What this console will do</h2>
        <ul>
          <li>Show live camera feeds with the plates and vehicles being tracked.</li>
          <li>Search recognised plates by text, camera, site and time, including partial and fuzzy matches.</li>
          <li>Manage alert rules and hotlists, and the channels that alerts are sent to.</li>
        </ul>
        <p>
          None of these screens exist yet. Recognition itself runs today from the <code>ovr-alpr</code> command line.
        </p>
      </section>
    </main>
  );
}

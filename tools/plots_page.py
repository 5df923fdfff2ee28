"""Build .dvc/plots/offline.html: DVC's page for `dvc plots show` with Vega inlined, so it works offline.

DVC's own page loads vega, vega-lite and vega-embed from a CDN: without internet it is blank.
`.dvc/config` names this page (plots.html_template), so `dvc plots show` and `dvc plots diff`
write a self-contained dvc_plots/index.html. Rebuild after changing the versions below:

    make plots-page        # npm pack the three packages into a temporary folder, then this script
"""

from __future__ import annotations

import json
import sys
import tarfile
from pathlib import Path

# Vega-Lite 5 (the schema of DVC's and tunepipe's templates) and the Vega and vega-embed it runs on.
PACKAGES = {"vega": "5.33.1", "vega-lite": "5.23.0", "vega-embed": "6.29.0"}
SCRIPTS = {"vega": "package/build/vega.min.js", "vega-lite": "package/build/vega-lite.min.js",
           "vega-embed": "package/build/vega-embed.min.js"}
OUT = Path(__file__).resolve().parent.parent / ".dvc" / "plots" / "offline.html"

PAGE = """<!DOCTYPE html>
<html>
<head>
    {refresh_tag}
    <meta charset="utf-8">
    <title>tunepipe plots</title>
    <!-- Built by tools/plots_page.py: @VERSIONS@, inlined so that the page needs no network.
@LICENSE@    -->
@SCRIPTS@
    <style>
        body { font-family: sans-serif; }
        table { border-spacing: 15px; }
    </style>
</head>
<body>
    {plot_divs}
</body>
</html>
"""


# DVC's page calls vegaEmbed(id, spec) once per plot. Render as SVG (the marks are in the page,
# and a person can save a plot as SVG), and keep each plot's promise, so a test (or a reader of the
# console) can tell that every plot finished drawing.
EMBED_SVG = """    <script>
        (function () {
            var embed = window.vegaEmbed;
            window.tunepipePlots = [];
            window.vegaEmbed = function (el, spec, options) {
                var done = embed(el, spec, Object.assign({renderer: "svg"}, options || {}));
                window.tunepipePlots.push(done.then(
                    function () { return {id: el, ok: true}; },
                    function (error) { return {id: el, ok: false, error: String(error)}; }));
                return done;
            };
        })();
    </script>"""


def build(tarballs: Path) -> str:
    """The page, from the packages' npm tarballs in ``tarballs`` (``npm pack`` names)."""
    scripts, license_text = [], ""
    for name, version in PACKAGES.items():
        with tarfile.open(tarballs / f"{name}-{version}.tgz") as tar:
            meta = json.load(tar.extractfile("package/package.json"))  # type: ignore[arg-type]
            assert meta["license"] == "BSD-3-Clause", (name, meta["license"])
            code = tar.extractfile(SCRIPTS[name]).read().decode()  # type: ignore[union-attr]
            if name == "vega-lite":  # the three share this license and copyright holder
                license_text = tar.extractfile("package/LICENSE").read().decode()  # type: ignore[union-attr]
        assert not any(s in code for s in ("</script", "{plot_divs}", "{refresh_tag}", "{scripts}")), name
        scripts.append(f"    <script>/* {name} {version} */\n{code}\n    </script>")
    versions = ", ".join(f"{n} {v}" for n, v in PACKAGES.items())
    scripts.append(EMBED_SVG)
    # The scripts go in last, so that no replacement can touch their code.
    return PAGE.replace("@VERSIONS@", versions).replace("@LICENSE@", license_text).replace("@SCRIPTS@", "\n".join(scripts))


if __name__ == "__main__":
    OUT.write_text(build(Path(sys.argv[1])))
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KiB)")

#!/usr/bin/env bash
# Packs every EmDsl package into a local folder feed, installs them into a fresh project and a fresh tool path
# outside the repository, and runs a fit with each: a file missing from a package fails here.
# Usage: tests/package/install-test.sh [work-dir]   (run from anywhere; needs a Release build or builds one)
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="${1:-$(mktemp -d)}"
feed="$work/feed"
version="$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' "$repo/Directory.Build.props" | head -1)"
rm -rf "$feed" "$work/app" "$work/tool" "$work/nuget-cache"
export NUGET_PACKAGES="$work/nuget-cache"   # a clean cache, so the packages come from the feed and not an old copy

dotnet pack "$repo/EmDsl.sln" -c Release -o "$feed" --nologo -v quiet
for p in EmDsl.Core EmDsl.Models EmDsl.Testing EmDsl.Plotting EmDsl.FSharp EmDsl.Cli; do
  test -s "$feed/$p.$version.nupkg" || { echo "missing package $p $version"; exit 1; }
  test -s "$feed/$p.$version.snupkg" || { echo "missing symbols of $p $version"; exit 1; }
  # The listing is read whole first: grep -q stops at its first match, and under pipefail the SIGPIPE it gives unzip
  # would count as a failure.
  listing="$(unzip -l "$feed/$p.$version.nupkg")"
  for f in README.md LICENSE; do
    grep -q " $f\$" <<<"$listing" || { echo "$p has no $f"; exit 1; }
  done
done
for p in EmDsl.Core EmDsl.Models EmDsl.Testing EmDsl.Plotting EmDsl.FSharp; do
  listing="$(unzip -l "$feed/$p.$version.nupkg")"
  grep -q "lib/net10.0/$p.xml" <<<"$listing" || { echo "$p has no XML docs"; exit 1; }
done

# A fresh C# console project, restored from the feed (and the machine's usual source for MathNet and the rest).
mkdir -p "$work/app"
cd "$work/app"
dotnet new console --force -o . -n FreshApp >/dev/null
dotnet add package EmDsl.Models --version "$version" --source "$feed" >/dev/null
cp "$repo/examples/data/old_faithful.csv" .
cat > Program.cs <<'CS'
using EmDsl.Building;
using EmDsl.Data;
using EmDsl.Models;

var data = DataMatrix.ReadCsv("old_faithful.csv");
var geyser = Blocks.Gaussian("geyser", ["eruptions", "waiting"]);
var fit = Mixture.WithComponents(2).Observe(geyser).Build().Fit(data, EmDsl.Inference.FitOptions.Default with { Seed = 1 });
var facade = new GaussianMixture(2).Fit(data);
Console.WriteLine($"log-likelihood {fit.LogLikelihood:F3} {facade.Result.LogLikelihood:F3}");
if (Math.Abs(fit.LogLikelihood + 1130.264) > 1e-3) throw new Exception($"unexpected optimum {fit.LogLikelihood}");
CS
dotnet run -c Release

# The tool, installed from the feed into a fresh tool path.
dotnet tool install EmDsl.Cli --version "$version" --add-source "$feed" --tool-path "$work/tool" >/dev/null
"$work/tool/emdsl" fit old_faithful.csv -k 2 --seed 1 | tee "$work/tool-out.txt"
grep -q -- "-1130.26" "$work/tool-out.txt"
echo "packages install and run: OK ($feed)"

# How often flexmix's own starts reach the known optima of tests/fixtures/r_start_optima.json (made by
# tests/fixtures/make_start_fixtures.R), to compare with EmDsl's (dotnet run -c Release --project bench/EmDsl.Bench -- starts).
#
#   Rscript bench/flexmix_starts.R [seeds]        (from the repository root; default 20 seeds)
#
# For seeds 1..S: flexmix(..., k = K) — one random partition, flexmix's default start — and stepFlexmix(..., k = K)
# with its default nrep = 3 (the best of three), both with control = list(tolerance = 1e-12, iter.max = 10000,
# minprior = 0) so that only the start decides (no component is dropped, every run reaches its fixed point; the
# mixture of experts, whose runs are slow, with tolerance 1e-8 and iter.max 3000, as in the fixture). A fit succeeds
# when its log-likelihood is within 1e-6 (relative) of flexmix's best ("flexmix_best_loglik"): flexmix's fixed
# points differ slightly from the exact maxima EmDsl is compared with (its Gaussian sigma has a degrees-of-freedom
# correction, its gating M-step is inexact).
suppressPackageStartupMessages({ library(flexmix); library(jsonlite) })
args <- commandArgs(trailingOnly = TRUE)
S <- if (length(args) > 0) as.integer(args[1]) else 20L
fx <- function(name) file.path("tests/fixtures", name)
optima <- fromJSON(fx("r_start_optima.json"), simplifyVector = FALSE)
npreg <- read.csv(fx("r_npreg.csv")); patent <- read.csv(fx("r_patent.csv")); logistic <- read.csv(fx("r_logistic_mixture.csv"))
control <- list(tolerance = 1e-12, iter.max = 10000, minprior = 0)
binomials <- list(FLXMRglm(cbind(y1, 1 - y1) ~ ., family = "binomial"), FLXMRglm(cbind(y2, 1 - y2) ~ ., family = "binomial"),
                  FLXMRglm(cbind(y3, 1 - y3) ~ ., family = "binomial"))
calls <- list(
  gaussian_npreg = function(f) f(yn ~ x + I(x^2), data = npreg, k = 2, model = FLXMRglm(family = "gaussian"), control = control),
  poisson_npreg = function(f) f(yp ~ x, data = npreg, k = 2, model = FLXMRglm(family = "poisson"), control = control),
  experts_patent = function(f) f(Patents ~ lgRD, data = patent, k = 3, model = FLXMRglm(family = "poisson"),
                                 concomitant = FLXPmultinom(~ RDS), control = list(tolerance = 1e-8, iter.max = 3000, minprior = 0)),
  logistic_three = function(f) f(~ x, data = logistic, k = 2, model = binomials, control = control))
single <- function(...) flexmix(...)
step3 <- function(...) { r <- stepFlexmix(..., nrep = 3, verbose = FALSE); if (is(r, "stepFlexmix")) getModel(r, "BIC") else r }
cat(sprintf("flexmix %s: fits reaching the optimum (|d logLik| <= 1e-6 relative), seeds 1..%d\n", packageVersion("flexmix"), S))
for (cs in optima$cases) {
  best <- cs$flexmix_best_loglik
  cat(sprintf("%s: flexmix's best %.6f (exact optimum %.6f)\n", cs$name, best, cs$optimum$loglik))
  for (way in list(list("flexmix(k = K), one random partition", single), list("stepFlexmix(k = K, nrep = 3)", step3))) {
    hits <- 0; elsewhere <- c(); t0 <- proc.time()[["elapsed"]]
    for (s in seq_len(S)) {
      set.seed(s)
      f <- suppressWarnings(calls[[cs$name]](way[[2]]))
      ll <- if (f@k < cs$K) NA else as.numeric(logLik(f))
      if (!is.na(ll) && abs(ll - best) <= 1e-6 * abs(best)) hits <- hits + 1 else elsewhere <- c(elsewhere, round(ll, 3))
    }
    cat(sprintf("  %-40s %3d/%d  %7.0f ms/fit%s\n", way[[1]], hits, S, 1000 * (proc.time()[["elapsed"]] - t0) / S,
                if (length(elsewhere)) paste0("  elsewhere: ", paste(head(sort(unique(elsewhere), decreasing = TRUE), 6), collapse = ", ")) else ""))
  }
}

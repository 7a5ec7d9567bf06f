# Times flexmix on the problem `dotnet run -c Release --project bench/EmDsl.Bench -- regression ROWS ITER DIR` exported:
# a mixture of 2 Poisson regressions y ~ x1 + x2, and 3 Poisson experts with a multinomial-logit gating on g, both
# started from the same partition and run for the same number of EM iterations (tolerance 0).
#   Rscript bench/flexmix_regression.R DIR
suppressPackageStartupMessages(library(flexmix))
dir <- commandArgs(trailingOnly = TRUE)[1]
d <- read.csv(file.path(dir, "regression.csv"))
iterations <- as.integer(readLines(file.path(dir, "regression_settings.txt"))[1])
indicator <- function(labels, k) { m <- matrix(0, length(labels), k); m[cbind(seq_along(labels), labels + 1)] <- 1; m }
control <- list(iter.max = iterations, tolerance = 0, minprior = 0, verbose = 0)
run <- function(name, expr) {
  t <- system.time(fit <- eval(expr))[["elapsed"]]
  cat(sprintf("  %-28s %8.1f ms/iteration  (%d iterations, log-likelihood %.4f)\n", name, 1000 * t / fit@iter, fit@iter, logLik(fit)))
}
cat(sprintf("flexmix %s on %d rows, %d EM iterations\n", packageVersion("flexmix"), nrow(d), iterations))
run("2 Poisson regressions", quote(flexmix(y ~ x1 + x2, data = d, k = 2, model = FLXMRglm(family = "poisson"),
                                           cluster = indicator(pmin(d$start, 1), 2), control = control)))
run("3 experts + softmax gating", quote(flexmix(y ~ x1 + x2, data = d, k = 3, model = FLXMRglm(family = "poisson"),
                                                concomitant = FLXPmultinom(~ g), cluster = indicator(d$start, 3), control = control)))

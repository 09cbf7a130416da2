"""A penalised negative-binomial GLM (log link), and draws from what it learned.

Counts of registrations are small, overdispersed and often zero; the NB2 model
(variance ``mu + alpha * mu**2``) fits them with one extra parameter. The penalty is a
ridge on chosen columns: a Gaussian prior centred on zero with precision
``penalty[j]``, which is how many small series borrow strength from the pooled ones
(a country's deviation from the common level is shrunk towards zero unless its data
say otherwise). Fitting is iteratively reweighted least squares for the coefficients,
alternating with a one-dimensional maximum-likelihood step for ``alpha``.

A sparse ``design`` (``scipy.sparse``; the pooled volume model's is about 1 % non-zero)
is fitted with the same iterations on sparse products: ``X'WX`` is formed from the
non-zeros only and the small penalised information is solved by Cholesky (falling back
to a general solve if it is not numerically positive definite). A dense design keeps
the dense products and the general solve. Both give the same fit up to rounding
(tested to 1e-8 on the coefficients).

Forecast draws carry both uncertainties: coefficients from the Gaussian approximation
of their posterior (``cov`` = inverse penalised information) and the NB noise of the
counts (a gamma-Poisson mixture).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse as sparse
from scipy.optimize import minimize_scalar
from scipy.special import gammaln

_MAX_ETA = 30.0  # exp(30) ≈ 1e13: beyond any count we will see; keeps IRLS finite


@dataclass(frozen=True)
class NegBinFit:
    coef: np.ndarray
    cov: np.ndarray
    alpha: float
    iterations: int

    def mean(self, design: np.ndarray) -> np.ndarray:
        return np.exp(np.clip(design @ self.coef, -_MAX_ETA, _MAX_ETA))

    def draw_coefficients(self, draws: int, rng: np.random.Generator) -> np.ndarray:
        """``draws`` × coefficients from N(coef, cov)."""
        chol = np.linalg.cholesky(self.cov + np.eye(len(self.coef)) * 1e-12)
        return self.coef + rng.standard_normal((draws, len(self.coef))) @ chol.T

    def draw_means(self, design: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
        """``draws`` × rows of expected counts, one coefficient draw per row of draws
        (``negbin_counts`` adds the count noise)."""
        eta = self.draw_coefficients(draws, rng) @ design.T
        return np.exp(np.clip(eta, -_MAX_ETA, _MAX_ETA))


def negbin_counts(means: np.ndarray, alpha: float, rng: np.random.Generator) -> np.ndarray:
    """NB2 counts with the given means (gamma-Poisson; Poisson when ``alpha`` is 0)."""
    if alpha <= 0:
        return rng.poisson(means)
    shape = 1.0 / alpha
    return rng.poisson(rng.gamma(shape, means / shape))


def negbin_loglik(
    y: np.ndarray,
    mu: np.ndarray,
    alpha: float,
    weights: np.ndarray,
    log_y_factorial: np.ndarray | None = None,
) -> float:
    """Weighted NB2 log-likelihood; ``log_y_factorial``: ``gammaln(y + 1)`` if already
    known (it does not depend on the parameters)."""
    r = 1.0 / alpha
    terms = (
        gammaln(y + r)
        - gammaln(r)
        - (gammaln(y + 1) if log_y_factorial is None else log_y_factorial)
        + r * np.log(r / (r + mu))
        + y * np.log(np.where(mu > 0, mu / (r + mu), 1.0))
    )
    return float(np.sum(weights * terms))


def fit_negbin(
    design: np.ndarray | sparse.sparray | sparse.spmatrix,
    counts: np.ndarray,
    *,
    penalty: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    alpha: float | None = None,
    max_iter: int = 100,
    tol: float = 1e-8,
    start: np.ndarray | None = None,
) -> NegBinFit:
    """Fit ``log E[y] = design @ coef`` with NB2 noise.

    ``penalty``: per column, the precision of a zero-centred Gaussian prior (0: none).
    ``weights``: per row, how much an observation counts (e.g. older months less).
    ``alpha``: fixed dispersion; estimated by maximum likelihood when ``None``.
    ``design`` may be a ``scipy.sparse`` matrix (sparse products, Cholesky solve).
    ``start``: coefficients to start the iterations from (e.g. a related fit's);
    ``None``: the log of the mean count in the intercept (column 0), zeros elsewhere.
    """
    is_sparse = sparse.issparse(design)
    if is_sparse:
        x = sparse.csr_array(design, dtype=float, copy=True)
        x.sum_duplicates()
        xt = x.T.tocsr()
        row_of_entry = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
    else:
        x = np.asarray(design, dtype=float)
    y = np.asarray(counts, dtype=float)
    n, k = x.shape
    if y.shape != (n,):
        raise ValueError(f"{n} design rows but {y.shape} counts")
    if np.any(y < 0) or not np.all(np.isfinite(y)):
        raise ValueError("counts must be finite and non-negative")
    p = np.zeros(k) if penalty is None else np.asarray(penalty, dtype=float)
    w0 = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    estimate_alpha = alpha is None
    log_y_factorial = gammaln(y + 1) if estimate_alpha else None
    a = 0.1 if alpha is None else float(alpha)
    if start is None:
        coef = np.zeros(k)
        coef[0] = np.log(max(np.average(y, weights=w0), 1e-3))  # column 0: the intercept
    else:
        coef = np.array(start, dtype=float, copy=True)
    iterations = 0
    for _ in range(max_iter):
        iterations += 1
        eta = np.clip(x @ coef, -_MAX_ETA, _MAX_ETA)
        mu = np.exp(eta)
        w = w0 * mu / (1.0 + a * mu)
        z = eta + (y - mu) / mu
        if is_sparse:
            info = _sparse_information(x, xt, row_of_entry, w, p)
            new = _solve_spd(info, xt @ (w * z))
        else:
            info = (x * w[:, None]).T @ x + np.diag(p)
            new = np.linalg.solve(info, (x * w[:, None]).T @ z)
        step = np.max(np.abs(new - coef))
        coef = new
        if estimate_alpha:
            mu = np.exp(np.clip(x @ coef, -_MAX_ETA, _MAX_ETA))
            a = _alpha_mle(y, mu, w0, log_y_factorial)
        if step < tol:
            break
    mu = np.exp(np.clip(x @ coef, -_MAX_ETA, _MAX_ETA))
    w = w0 * mu / (1.0 + a * mu)
    if is_sparse:
        info = _sparse_information(x, xt, row_of_entry, w, p)
    else:
        info = (x * w[:, None]).T @ x + np.diag(p)
    cov = np.linalg.inv(info)
    return NegBinFit(coef=coef, cov=(cov + cov.T) / 2, alpha=a, iterations=iterations)


def _sparse_information(
    x: sparse.csr_array,
    xt: sparse.csr_array,
    row_of_entry: np.ndarray,
    w: np.ndarray,
    penalty: np.ndarray,
) -> np.ndarray:
    """``X'WX + diag(penalty)`` from the non-zeros of ``x`` (CSR; ``xt`` its transpose,
    ``row_of_entry`` the row of each stored entry), as a dense p × p array."""
    weighted = sparse.csr_array((x.data * w[row_of_entry], x.indices, x.indptr), shape=x.shape)
    info = (xt @ weighted).toarray()
    info[np.diag_indices_from(info)] += penalty
    return info


def _solve_spd(info: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve with the penalised information (symmetric positive definite in a
    well-posed fit: Cholesky); a general solve if it is not."""
    try:
        return scipy.linalg.cho_solve(scipy.linalg.cho_factor(info, check_finite=False), rhs)
    except np.linalg.LinAlgError:
        return np.linalg.solve(info, rhs)


def _alpha_mle(
    y: np.ndarray,
    mu: np.ndarray,
    weights: np.ndarray,
    log_y_factorial: np.ndarray | None = None,
) -> float:
    result = minimize_scalar(
        lambda log_a: -negbin_loglik(y, mu, float(np.exp(log_a)), weights, log_y_factorial),
        bounds=(np.log(1e-4), np.log(20.0)),
        method="bounded",
        options={"xatol": 1e-4},
    )
    return float(np.exp(result.x))

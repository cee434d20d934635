"""Coefficients of Q(u) in native/src/elementwise.cc (the GELU derivative kernel).

Numerical Recipes' erfcc writes erfc(z) = t·exp(-z² + P(t)), t = 1/(1 + z/2), P of degree 9. The
GELU derivative Φ(x) + x·φ(x) needs exp(-x²/2) for φ anyway, so the kernel computes it once and
replaces exp(P(t)) by a polynomial Q in u = 2t - 1 (t in (0, 1]): one exp per element instead of two.
Q is the degree-11 Chebyshev least-squares fit of exp(P(t)) with relative weights, converted to
monomials in u. Prints the coefficients (constant term first) and the relative errors of Q in
exact and in float32 Horner arithmetic. Run: python3 scripts/fit-gelu-derivative.py (numpy).
"""
import numpy as np

P = [-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587,
     -0.82215223, 0.17087277]
t = np.linspace(0, 1, 400001)
target = np.exp(sum(c * t**i for i, c in enumerate(P)))
u = 2 * t - 1
fit = np.polynomial.chebyshev.Chebyshev.fit(u, target, 11, domain=[-1, 1], w=1 / target)
q = fit.convert(kind=np.polynomial.Polynomial).coef.astype(np.float32)
uf = (np.float32(2) * t.astype(np.float32) - np.float32(1)).astype(np.float32)
acc = np.float32(q[-1])
for c in q[-2::-1]:
    acc = (acc * uf + c).astype(np.float32)
print('coefficients:', [float(c) for c in q])
print('max relative error: exact %.3g, float32 Horner %.3g' % (np.abs(fit(u) / target - 1).max(), np.abs(acc / target - 1).max()))

"""Neural-GAN validation harness for stabcheck (DeOliveira 2023, section 6 and appendix F).

Trains real neural GANs with the same decision oracles as :mod:`stabcheck.oracles`
(Sim-GDA, Alt-GDA, Dynamic-GDA, any user oracle) and the thesis's eight GAN classes,
measures them (exact Wasserstein-1 on 2-D data, a Frechet distance on images), and
holds the local dynamics of the trained networks (matrix-free top eigenvalues of the
update map's Jacobian, perturbation growth) against the toy theory.

Entry point: ``python -m gpu_validation run ...`` / ``python -m gpu_validation report ...``.

Conventions used everywhere in this package
-------------------------------------------
* Parameters ``x = (theta, psi)``: theta the generator (minimizes ``L_G``), psi the
  discriminator (maximizes ``L_D``; "ascent form").
* The discriminator's raw output (logit / critic value) scores **real data high**, which is
  the thesis's convention (the one :class:`stabcheck.oracles.DynGDAOracle` is written in).
* Fields: ``V1 = (-grad_theta L_G, 0)``, ``V2 = (0, grad_psi L_D)``, ``V3 = V1 + V2``
  (thesis eq. 3).

Heavy imports (torch, scipy, matplotlib) happen inside the submodules that need them; this
``__init__`` imports nothing heavy.
"""

__all__ = ["data", "models", "gans", "methods", "train", "metrics", "spectrum",
           "predictions", "report", "batched", "schema"]

"""The talk's references, and the data and estimators the app uses, as typed data.

Each entry has what a reader needs to find the work (authors, year, title, venue) and the stable
identifiers that link to it: an arXiv id, a DOI, or a URL where the work has neither.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reference:
    """A cited work.

    Attributes:
        key: short id used by the app ("bubeck_sellke_2021").
        authors: as printed, "Bubeck, S. and Sellke, M.". year: of the cited version.
        title, venue: as published. arxiv: arXiv id ("2105.12806") or "". doi: DOI or "".
        url: a link for works with neither arXiv id nor DOI (or an official page), else "".
        role: one line on where the lecture uses it.
    """

    key: str
    authors: str
    year: int
    title: str
    venue: str
    role: str
    arxiv: str = ""
    doi: str = ""
    url: str = ""

    @property
    def links(self) -> dict[str, str]:
        """Label -> URL, arXiv first, then DOI, then the page."""
        out = {}
        if self.arxiv:
            out[f"arXiv:{self.arxiv}"] = f"https://arxiv.org/abs/{self.arxiv}"
        if self.doi:
            out[f"doi:{self.doi}"] = f"https://doi.org/{self.doi}"
        if self.url:
            out["page"] = self.url
        return out

    def citation(self) -> str:
        """One line: Authors (year). Title. Venue."""
        return f"{self.authors} ({self.year}). {self.title}. {self.venue}."


TALK_REFERENCES: tuple[Reference, ...] = (
    Reference(
        "baum_1988", "Baum, E. B.", 1988, "On the capabilities of multilayer perceptrons",
        "Journal of Complexity 4(3), 193-215",
        "Memorization: about n parameters (ceil(n/d) threshold units) fit any labels on n points.",
        doi="10.1016/0885-064X(88)90020-9",
    ),
    Reference(
        "belkin_2019", "Belkin, M., Hsu, D., Ma, S. and Mandal, S.", 2019,
        "Reconciling modern machine-learning practice and the classical bias-variance trade-off",
        "Proceedings of the National Academy of Sciences 116(32), 15849-15854",
        "Double descent: the test error falls again past the interpolation threshold p = n.",
        arxiv="1812.11118", doi="10.1073/pnas.1903070116",
    ),
    Reference(
        "bubeck_li_nagaraj_2021", "Bubeck, S., Li, Y. and Nagaraj, D.", 2021,
        "A law of robustness for two-layers neural networks",
        "Conference on Learning Theory (COLT), PMLR 134 (arXiv preprint 2020)",
        "The conjecture for two-layer networks, and the random-data experiment the talk replicates.",
        arxiv="2009.14444",
    ),
    Reference(
        "bubeck_sellke_2021", "Bubeck, S. and Sellke, M.", 2021,
        "A universal law of robustness via isoperimetry",
        "Advances in Neural Information Processing Systems 34 (NeurIPS)",
        "The universal law: Lip(f) >= sqrt(nd/p), up to constants and logs.",
        arxiv="2105.12806",
    ),
    Reference(
        "goodfellow_2015", "Goodfellow, I. J., Shlens, J. and Szegedy, C.", 2015,
        "Explaining and harnessing adversarial examples",
        "International Conference on Learning Representations (ICLR)",
        "FGSM, and the linearity explanation of adversarial examples.",
        arxiv="1412.6572",
    ),
    Reference(
        "szegedy_2014", "Szegedy, C., Zaremba, W., Sutskever, I., Bruna, J., Erhan, D., "
        "Goodfellow, I. and Fergus, R.", 2014, "Intriguing properties of neural networks",
        "International Conference on Learning Representations (ICLR)",
        "The discovery of adversarial examples.",
        arxiv="1312.6199",
    ),
    Reference(
        "madry_2018", "Madry, A., Makelov, A., Schmidt, L., Tsipras, D. and Vladu, A.", 2018,
        "Towards deep learning models resistant to adversarial attacks",
        "International Conference on Learning Representations (ICLR)",
        "PGD and adversarial training; robust MNIST accuracy grows with model capacity.",
        arxiv="1706.06083",
    ),
    Reference(
        "zhang_2017", "Zhang, C., Bengio, S., Hardt, M., Recht, B. and Vinyals, O.", 2017,
        "Understanding deep learning requires rethinking generalization",
        "International Conference on Learning Representations (ICLR)",
        "Networks memorize random labels as easily as real ones.",
        arxiv="1611.03530",
    ),
    Reference(
        "nakkiran_2020", "Nakkiran, P., Kaplun, G., Bansal, Y., Yang, T., Barak, B. and Sutskever, I.",
        2020, "Deep double descent: where bigger models and more data hurt",
        "International Conference on Learning Representations (ICLR)",
        "Double descent in deep networks, in model size and in training time.",
        arxiv="1912.02292",
    ),
)

DATA_AND_METHOD_REFERENCES: tuple[Reference, ...] = (
    Reference(
        "wong_2020", "Wong, E., Rice, L. and Kolter, J. Z.", 2020,
        "Fast is better than free: revisiting adversarial training",
        "International Conference on Learning Representations (ICLR)",
        "FGSM with a random start: how the adversarially trained networks are trained, and the "
        "catastrophic overfitting the training checks for.",
        arxiv="2001.03994",
    ),
    Reference(
        "croce_hein_2020", "Croce, F. and Hein, M.", 2020,
        "Reliable evaluation of adversarial robustness with an ensemble of diverse parameter-free attacks",
        "International Conference on Machine Learning (ICML), PMLR 119",
        "AutoAttack: why a robustness number is only as strong as the attack behind it (one-step "
        "FGSM, or a short PGD, can overstate it).",
        arxiv="2003.01690",
    ),
    Reference(
        "lecun_1998", "LeCun, Y., Bottou, L., Bengio, Y. and Haffner, P.", 1998,
        "Gradient-based learning applied to document recognition",
        "Proceedings of the IEEE 86(11), 2278-2324",
        "The MNIST data set (60,000 training and 10,000 test images of 28 x 28 pixels).",
        doi="10.1109/5.726791", url="http://yann.lecun.com/exdb/mnist/",
    ),
    Reference(
        "levina_bickel_2004", "Levina, E. and Bickel, P. J.", 2004,
        "Maximum likelihood estimation of intrinsic dimension",
        "Advances in Neural Information Processing Systems 17 (NIPS), 777-784",
        "The intrinsic-dimension estimate of MNIST behind the effective-dimension slider.",
        url="https://papers.nips.cc/paper/2004/hash/74934548253bcab8490ebd74afed7031-Abstract.html",
    ),
    Reference(
        "mackay_ghahramani_2005", "MacKay, D. J. C. and Ghahramani, Z.", 2005,
        "Comments on 'Maximum likelihood estimation of intrinsic dimension' by E. Levina and P. Bickel",
        "Note, University of Cambridge",
        "How the per-point estimates are combined (average the inverses, then invert).",
        url="https://www.inference.org.uk/mackay/dimension/",
    ),
    Reference(
        "mei_montanari_2022", "Mei, S. and Montanari, A.", 2022,
        "The generalization error of random features regression: precise asymptotics and the "
        "double descent curve", "Communications on Pure and Applied Mathematics 75(4), 667-766",
        "The random-features model behind the live double-descent curve.",
        arxiv="1908.05355", doi="10.1002/cpa.22008",
    ),
    Reference(
        "russakovsky_2015", "Russakovsky, O., Deng, J., Su, H., et al.", 2015,
        "ImageNet large scale visual recognition challenge",
        "International Journal of Computer Vision 115(3), 211-252",
        "ImageNet's size on the memorization gauge (1,281,167 training images).",
        arxiv="1409.0575", doi="10.1007/s11263-015-0816-y",
    ),
    Reference(
        "he_2016", "He, K., Zhang, X., Ren, S. and Sun, J.", 2016,
        "Deep residual learning for image recognition",
        "IEEE Conference on Computer Vision and Pattern Recognition (CVPR)",
        "ResNet-50 (25.6 million parameters) on the memorization gauge.",
        arxiv="1512.03385",
    ),
    Reference(
        "brown_2020", "Brown, T. B., Mann, B., Ryder, N., et al.", 2020,
        "Language models are few-shot learners",
        "Advances in Neural Information Processing Systems 33 (NeurIPS)",
        "GPT-3 (175 billion parameters) on the memorization gauge, for scale.",
        arxiv="2005.14165",
    ),
)

ALL_REFERENCES: tuple[Reference, ...] = TALK_REFERENCES + DATA_AND_METHOD_REFERENCES

"""Unit tests of the example strategy's logic.

Run from the repository's root:
  /usr/bin/python3 -m unittest examples.python_strategy.test_strategy
"""
import unittest
from decimal import Decimal

from examples.python_strategy.strategy import SmaCross


class SmaCrossTest(unittest.TestCase):
    def test_signals_on_crosses_only(self):
        s = SmaCross(1, 2)
        self.assertIsNone(s.on_close(10))   # warming up
        self.assertIsNone(s.on_close(9))    # below: the first reading, no cross
        self.assertEqual(s.on_close(11), "BUY")
        self.assertIsNone(s.on_close(12))   # still above
        s.on_fill("BUY", "0.5")
        self.assertEqual(s.on_close(5), "SELL")
        s.on_fill("SELL", "0.5")
        self.assertEqual(s.position, Decimal(0))

    def test_no_sell_when_flat_no_buy_when_long(self):
        s = SmaCross(1, 2)
        for c in (10, 11, 9):  # above, then a cross below while flat
            sig = s.on_close(c)
        self.assertIsNone(sig)
        s.on_fill("BUY", "1")
        self.assertIsNone(s.on_close(12))  # a cross above while long

    def test_bad_windows(self):
        for fast, slow in ((0, 2), (3, 3), (5, 2)):
            with self.assertRaises(ValueError):
                SmaCross(fast, slow)


if __name__ == "__main__":
    unittest.main()

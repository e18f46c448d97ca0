"""Analysis of the result tables: statistics, fitted laws and Altair charts (HTML + PNG)."""

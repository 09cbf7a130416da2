# ruff: noqa: E501 - a table of translations: one text per line reads best
"""Report labels in Dutch, French and English, and number formats per language.

One entry per text: ``key: (en, nl, fr)``. A missing key or language is an error at
import time (``_check``), never an English word in a Dutch report.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

LANGUAGES = ("nl", "fr", "en")
_INDEX = {"en": 0, "nl": 1, "fr": 2}

TEXT: dict[str, tuple[str, str, str]] = {
    # cover
    "title": (
        "Voluntary return (REAB): monthly management report",
        "Vrijwillige terugkeer (REAB): maandelijks managementrapport",
        "Retour volontaire (REAB) : rapport mensuel de gestion",
    ),
    "subtitle": (
        "Report month {month} · data to {data_to} · forecast from {origin} ({draws} draws)",
        "Rapportmaand {month} · gegevens tot {data_to} · prognose vanaf {origin} ({draws} trekkingen)",
        "Mois du rapport {month} · données jusqu'au {data_to} · prévision depuis {origin} ({draws} tirages)",
    ),
    "generated": (
        "Generated {at} from {db}",
        "Gemaakt op {at} uit {db}",
        "Produit le {at} à partir de {db}",
    ),
    "generated_no_source": ("Generated {at}", "Gemaakt op {at}", "Produit le {at}"),
    "footnote": (
        "Counts below 5 per country are shown as <5; a value hidden so that such a count "
        "cannot be derived is shown as x; hidden rows are pooled in 'other countries', so "
        "the totals add up. Money: commitments (a dossier's amounts fall in its registration "
        "month; cancelled and no-show dossiers cost nothing), EUR.",
        "Aantallen onder 5 per land staan als <5; een waarde die verborgen is zodat zo'n "
        "aantal niet af te leiden is, staat als x; verborgen rijen zijn samengevoegd in "
        "'andere landen', zodat de totalen kloppen. Bedragen: vastleggingen (de bedragen van "
        "een dossier vallen in de maand van inschrijving; geannuleerde dossiers en no-shows "
        "kosten niets), EUR.",
        "Les effectifs inférieurs à 5 par pays sont notés <5 ; une valeur masquée pour "
        "qu'un tel effectif ne puisse être déduit est notée x ; les lignes masquées sont "
        "regroupées dans « autres pays », de sorte que les totaux restent exacts. Montants : "
        "engagements (les montants d'un dossier tombent dans son mois d'inscription ; les "
        "dossiers annulés et les no-shows ne coûtent rien), EUR.",
    ),
    "fact_ytd": (
        "Commitments {year} to date",
        "Vastleggingen {year} tot nu",
        "Engagements {year} à ce jour",
    ),
    "fact_ytd_complete": (
        "Commitments {year} to {month} (complete months)",
        "Vastleggingen {year} tot {month} (volledige maanden)",
        "Engagements {year} jusqu'à {month} (mois complets)",
    ),
    "fact_against_plan": (
        "To date against the forecast of {baseline}",
        "Tot nu tegenover de prognose van {baseline}",
        "À ce jour par rapport à la prévision de {baseline}",
    ),
    "note_baseline": (
        "Forecast column: for the months with actuals, the forecast made at {baseline} (before the year began; {table} table, from budget_forecast_archive); after them, the current forecast.",
        "Kolom prognose: voor de maanden met werkelijke cijfers de prognose van {baseline} (voor het begin van het jaar; tabel {table}, uit budget_forecast_archive); daarna de huidige prognose.",
        "Colonne prévision : pour les mois observés, la prévision faite en {baseline} (avant le début de l'année ; barème {table}, de budget_forecast_archive) ; ensuite, la prévision actuelle.",
    ),
    "note_no_baseline": (
        "No forecast made before {year} is archived, so the actual months stand alone; reab forecast --as-of {before} reconstructs one from the history to {before}.",
        "Er is geen prognose van voor {year} bewaard, dus de werkelijke maanden staan alleen; reab forecast --as-of {before} maakt er een uit de geschiedenis tot {before}.",
        "Aucune prévision faite avant {year} n'est archivée : les mois observés sont seuls ; reab forecast --as-of {before} en reconstruit une à partir de l'historique jusqu'à {before}.",
    ),
    "ch_baseline": ("Forecast of {baseline}", "Prognose van {baseline}", "Prévision de {baseline}"),
    "fact_projected": (
        "Projected {year} (80 %)",
        "Verwacht {year} (80 %)",
        "Projection {year} (80 %)",
    ),
    "fact_next": (
        "Budget {year}, 2026 table (80 %)",
        "Budget {year}, tabel 2026 (80 %)",
        "Budget {year}, barème 2026 (80 %)",
    ),
    "fact_next_2025": (
        "Budget {year}, 2025 table (80 %)",
        "Budget {year}, tabel 2025 (80 %)",
        "Budget {year}, barème 2025 (80 %)",
    ),
    "fact_ticket": (
        "Tickets {year}, outside the totals (80 %)",
        "Tickets {year}, buiten de totalen (80 %)",
        "Billets {year}, hors totaux (80 %)",
    ),
    "fact_bridge": (
        "From {year0} to {year1}: volume / mix / price",
        "Van {year0} naar {year1}: volume / mix / prijs",
        "De {year0} à {year1} : volume / composition / prix",
    ),
    "fact_diff": (
        "2026 minus 2025 table, {year}",
        "Tabel 2026 min 2025, {year}",
        "Barème 2026 moins 2025, {year}",
    ),
    "fact_alarms": (
        "Misuse alarms in {month}",
        "Misbruikalarmen in {month}",
        "Alertes d'abus en {month}",
    ),
    "fact_quarantine": (
        "Rows quarantined / read",
        "Rijen in quarantaine / gelezen",
        "Lignes en quarantaine / lues",
    ),
    # warnings
    "w_forecast_old": (
        "The forecast starts after {origin}, before the report month {month}: run the pipeline before the report. Spend to date shows no current forecast and no projected year.",
        "De prognose begint na {origin}, vóór de rapportmaand {month}: voer de pijplijn uit vóór het rapport. Uitgaven tot nu toont geen huidige prognose en geen verwacht jaar.",
        "La prévision commence après {origin}, avant le mois du rapport {month} : exécuter le pipeline avant le rapport. Les dépenses à ce jour n'ont ni prévision actuelle ni année projetée.",
    ),
    "w_partial": (
        "{month} is partial: the extracts cover it to {to} only. Its row shows the month to date; the totals, the comparison with the forecast and the alarms use the complete months before it.",
        "{month} is onvolledig: de extracten dekken die maand maar tot {to}. De rij toont de maand tot nu; de totalen, de vergelijking met de prognose en de alarmen gebruiken de volledige maanden ervoor.",
        "{month} est partiel : les extraits ne le couvrent que jusqu'au {to}. Sa ligne montre le mois à ce jour ; les totaux, la comparaison avec la prévision et les alarmes portent sur les mois complets qui précèdent.",
    ),
    "w_earlier_month": (
        "A report on an earlier month ({month}): spend to date stops there; the budget, country, parameter and backtest sections are those of the current forecast (after {origin}).",
        "Een rapport over een eerdere maand ({month}): uitgaven tot nu stopt daar; budget, landen, parameters en terugtoets komen uit de huidige prognose (na {origin}).",
        "Un rapport sur un mois antérieur ({month}) : les dépenses à ce jour s'y arrêtent ; budget, pays, paramètres et contrôle viennent de la prévision actuelle (après {origin}).",
    ),
    "w_entitlements": (
        "{n} persons of the warehouse are not in entitlements yet (an extract came after the last pipeline run): their amounts are missing here. Run `reab update` (or the pipeline).",
        "{n} personen uit het magazijn zitten nog niet in entitlements (een extract kwam na de laatste pijplijnrun): hun bedragen ontbreken hier. Voer `reab update` (of de pijplijn) uit.",
        "{n} personnes de l'entrepôt ne sont pas encore dans entitlements (un extrait est arrivé après la dernière exécution) : leurs montants manquent ici. Exécuter `reab update` (ou le pipeline).",
    ),
    "w_alarms": (
        "Misuse monitoring has run to {tested} only, not to {month}: run `reab update` (or the pipeline).",
        "De misbruikmonitoring loopt maar tot {tested}, niet tot {month}: voer `reab update` (of de pijplijn) uit.",
        "La surveillance des abus ne va que jusqu'à {tested}, pas jusqu'à {month} : exécuter `reab update` (ou le pipeline).",
    ),
    # sections
    "s_spend": (
        "Spend to date against forecast",
        "Uitgaven tot nu tegenover de prognose",
        "Dépenses à ce jour et prévision",
    ),
    "s_spend_intro": (
        "Commitments per registration month of {year} under the table that applies, and what was paid "
        "according to the extracts, next to what was forecast for them before the year began. Months "
        "after {origin} are the current forecast with its 80 % and 95 % intervals; the projected year "
        "adds it to the actual months.",
        "Vastleggingen per inschrijvingsmaand van {year} onder de geldende tabel, en wat volgens de "
        "extracten betaald is, naast wat er voor het begin van het jaar voor verwacht werd. De maanden "
        "na {origin} zijn de huidige prognose met haar 80 %- en 95 %-intervallen; het verwachte jaar "
        "telt die op bij de werkelijke maanden.",
        "Engagements par mois d'inscription de {year} selon le barème applicable, et ce qui a été payé "
        "selon les extraits, à côté de ce qui était prévu pour eux avant le début de l'année. Les mois "
        "après {origin} sont la prévision actuelle avec ses intervalles à 80 % et 95 % ; l'année "
        "projetée l'ajoute aux mois observés.",
    ),
    "s_budget": (
        "Budget {year}: 2025 table against 2026 table",
        "Budget {year}: tabel 2025 tegenover tabel 2026",
        "Budget {year} : barème 2025 et barème 2026",
    ),
    "s_budget_intro": (
        "Forecast commitments of the dossiers registering in {year}, per budget line, under each "
        "table; the difference is paired draw by draw (same simulated dossiers), so its interval "
        "is narrower than either table's. Ticket costs are not part of the total.",
        "Verwachte vastleggingen van de dossiers die zich in {year} inschrijven, per begrotingslijn, "
        "onder elke tabel; het verschil is per trekking gepaard (dezelfde gesimuleerde dossiers), "
        "dus smaller dan het interval van elke tabel. Ticketkosten zitten niet in het totaal.",
        "Engagements prévus des dossiers qui s'inscrivent en {year}, par ligne budgétaire, selon "
        "chaque barème ; la différence est appariée tirage par tirage (mêmes dossiers simulés), son "
        "intervalle est donc plus étroit. Les billets ne font pas partie du total.",
    ),
    "s_countries": (
        "Top return countries, {year}",
        "Belangrijkste terugkeerlanden, {year}",
        "Principaux pays de retour, {year}",
    ),
    "s_countries_intro": (
        "The ten return countries with the largest forecast cost in {year} under the 2026 table; "
        "the rest are pooled.",
        "De tien terugkeerlanden met de grootste verwachte kost in {year} onder tabel 2026; de "
        "andere zijn samengevoegd.",
        "Les dix pays de retour au coût prévu le plus élevé en {year} selon le barème 2026 ; les "
        "autres sont regroupés.",
    ),
    "s_comparison": (
        "Who is better or worse off under the 2026 table",
        "Wie gaat erop vooruit of achteruit met tabel 2026",
        "Qui gagne ou perd avec le barème 2026",
    ),
    "s_comparison_intro": (
        "Persons of dossiers registered from January to {month} (departed or registered), priced under both tables.",
        "Personen van dossiers ingeschreven van januari tot {month} (vertrokken of ingeschreven), onder beide tabellen berekend.",
        "Personnes des dossiers inscrits de janvier à {month} (partis ou inscrits), calculées selon les deux barèmes.",
    ),
    "s_alarms": ("Misuse alarms", "Misbruikalarmen", "Alertes d'abus"),
    "s_alarms_intro": (
        "Alarms of the twelve months to {month}: at least 5 dossiers, above expectation, and q ≤ 0.05 "
        "(Benjamini–Hochberg over every test of the month).",
        "Alarmen van de twaalf maanden tot {month}: minstens 5 dossiers, boven de verwachting en q ≤ 0,05 "
        "(Benjamini–Hochberg over alle tests van de maand).",
        "Alertes des douze mois jusqu'à {month} : au moins 5 dossiers, au-dessus de l'attendu et q ≤ 0,05 "
        "(Benjamini–Hochberg sur tous les tests du mois).",
    ),
    "s_quality": ("Data quality", "Datakwaliteit", "Qualité des données"),
    "s_quality_intro": (
        "Extract files ingested, rows read and rows quarantined (each with its reason in table quarantine).",
        "Ingelezen extractbestanden, gelezen rijen en rijen in quarantaine (elk met reden in tabel quarantine).",
        "Fichiers d'extraction ingérés, lignes lues et lignes en quarantaine (chacune avec sa raison, dans quarantine).",
    ),
    "s_parameters": (
        "Working parameter values",
        "Werkwaarden van parameters",
        "Valeurs de travail des paramètres",
    ),
    "s_parameters_intro": (
        "Values not yet confirmed that the {year} figures rest on, and the part of the {year} total that "
        "rests on each (the total minus the total with that value at 0, same draws).",
        "Nog niet bevestigde waarden waarop de cijfers van {year} steunen, en het deel van het totaal "
        "van {year} dat op elk ervan rust (het totaal min het totaal met die waarde op 0, dezelfde trekkingen).",
        "Valeurs pas encore confirmées sur lesquelles reposent les chiffres de {year}, et la part du total "
        "{year} qui repose sur chacune (le total moins le total avec cette valeur à 0, mêmes tirages).",
    ),
    "s_backtest": (
        "Forecast backtest",
        "Terugtoets van de prognose",
        "Contrôle rétrospectif de la prévision",
    ),
    "s_backtest_intro": (
        "Rolling origins, {horizon}-month horizon: mean absolute scaled error (lower is better; below "
        "seasonal naive means the model adds something) and how often the intervals held the actual count.",
        "Rollende startpunten, horizon {horizon} maanden: geschaalde gemiddelde absolute fout (lager is "
        "beter; onder seizoensnaïef betekent dat het model iets toevoegt) en hoe vaak de intervallen het "
        "werkelijke aantal bevatten.",
        "Origines glissantes, horizon de {horizon} mois : erreur absolue moyenne mise à l'échelle (plus "
        "bas est mieux ; sous le naïf saisonnier, le modèle apporte quelque chose) et fréquence à laquelle "
        "les intervalles contenaient le nombre observé.",
    ),
    "missing": ("Not available: {what}.", "Niet beschikbaar: {what}.", "Non disponible : {what}."),
    "missing_forecast": (
        "the warehouse holds no forecast yet (run the forecast assets)",
        "het magazijn bevat nog geen prognose (voer de prognose-assets uit)",
        "l'entrepôt ne contient pas encore de prévision (exécuter les assets de prévision)",
    ),
    "missing_table": (
        "table {table} is empty",
        "tabel {table} is leeg",
        "{table} est vide",
    ),
    "no_alarms": (
        "No alarm in these twelve months.",
        "Geen alarm in deze twaalf maanden.",
        "Aucune alerte ces douze mois.",
    ),
    # tables and sheets
    "t_summary": ("Summary", "Samenvatting", "Synthèse"),
    "t_spend": ("Spend to date", "Uitgaven tot nu", "Dépenses à ce jour"),
    "t_budget": ("Budget per line", "Budget per begrotingslijn", "Budget par ligne budgétaire"),
    "t_tables": (
        "Every table and scenario",
        "Elke tabel en elk scenario",
        "Chaque barème et scénario",
    ),
    "t_countries": ("Top countries", "Belangrijkste landen", "Principaux pays"),
    "t_bands": ("Budget bands", "Budgetmarges", "Marges du budget"),
    "t_bridge": ("Bridge to next year", "Brug naar volgend jaar", "Passage à l'an prochain"),
    "c_basis": ("Basis", "Basis", "Base"),
    "c_uncertainty": ("Uncertainty counted", "Meegerekende onzekerheid", "Incertitude comptée"),
    "c_step": ("Step", "Stap", "Étape"),
    "c_amount": ("Amount", "Bedrag", "Montant"),
    "b_same population": ("same population", "zelfde populatie", "même population"),
    "b_with volume response": (
        "with volume response",
        "met volumereactie",
        "avec réaction des inscriptions",
    ),
    "u_volumes": ("volumes", "aantallen dossiers", "nombre de dossiers"),
    "u_volumes and working parameters": (
        "volumes and working parameters",
        "aantallen dossiers en werkwaarden",
        "nombre de dossiers et valeurs de travail",
    ),
    "u_volumes, working parameters and response": (
        "volumes, working parameters and response",
        "aantallen dossiers, werkwaarden en volumereactie",
        "nombre de dossiers, valeurs de travail et réaction des inscriptions",
    ),
    "bs_this year (projected)": (
        "{year0} projected (actual to date + forecast)",
        "{year0} verwacht (werkelijk tot nu + prognose)",
        "{year0} projeté (réel à ce jour + prévision)",
    ),
    "bs_volume": (
        "volume (more or fewer dossiers)",
        "volume (meer of minder dossiers)",
        "volume (plus ou moins de dossiers)",
    ),
    "bs_mix": ("mix (who comes)", "mix (wie komt)", "composition (qui vient)"),
    "bs_price (table)": ("price (the table)", "prijs (de tabel)", "prix (le barème)"),
    "bs_next year (forecast)": ("{year1} forecast", "{year1} prognose", "{year1} prévision"),
    "note_response": (
        "Volume response: registrations change by about {e} % for each 1 % more support "
        "(80 %: {lo} to {hi}; estimated from {n} countries whose support changed). Tables "
        "other than the one in force ({table}) change volumes as well as prices.",
        "Volumereactie: de inschrijvingen veranderen met ongeveer {e} % per 1 % meer steun "
        "(80 %: {lo} tot {hi}; geschat op {n} landen waarvan de steun veranderde). Andere "
        "tabellen dan de geldende ({table}) veranderen aantallen én prijzen.",
        "Réaction des inscriptions : elles varient d'environ {e} % pour 1 % d'aide en "
        "plus (80 % : {lo} à {hi} ; estimée sur {n} pays dont l'aide a changé). Les barèmes "
        "autres que celui en vigueur ({table}) changent le nombre de dossiers autant que les prix.",
    ),
    "note_no_response": (
        "No volume response could be estimated from the history: {why}",
        "Uit de geschiedenis kon geen volumereactie worden geschat: {why}",
        "Aucune réaction des inscriptions n'a pu être estimée : {why}",
    ),
    "why_no_relative_change": (
        "support never changed differently across countries (no change, or every "
        "country's support changed by the same proportion in the same month): an "
        "elasticity cannot be told apart from common month effects",
        "de steun veranderde nooit verschillend tussen landen (geen verandering, of de "
        "steun van elk land veranderde in dezelfde maand in dezelfde verhouding): een "
        "elasticiteit valt niet te onderscheiden van gemeenschappelijke maandeffecten",
        "l'aide n'a jamais changé différemment d'un pays à l'autre (aucun changement, ou "
        "l'aide de chaque pays a changé dans la même proportion le même mois) : une "
        "élasticité ne peut être distinguée des effets communs du mois",
    ),
    "note_bridge": (
        "Volume: the change in dossiers at {year0}'s cost per dossier; mix: next year's "
        "dossiers under {year0}'s table against that cost; price: the table of {year1} "
        "against {year0}'s on the same dossiers. Same population (no volume response).",
        "Volume: de verandering in dossiers tegen de kost per dossier van {year0}; mix: de "
        "dossiers van volgend jaar onder de tabel van {year0} tegenover die kost; prijs: de "
        "tabel van {year1} tegenover die van {year0} op dezelfde dossiers. Zelfde populatie.",
        "Volume : la variation des dossiers au coût par dossier de {year0} ; composition : "
        "les dossiers de l'an prochain sous le barème de {year0} face à ce coût ; prix : le "
        "barème de {year1} face à celui de {year0} sur les mêmes dossiers. Même population.",
    ),
    "t_comparison": ("Table comparison", "Vergelijking tabellen", "Comparaison barèmes"),
    "t_alarms": ("Misuse alarms", "Misbruikalarmen", "Alertes d'abus"),
    "t_focus": ("Lifted restrictions", "Opgeheven beperkingen", "Restrictions levées"),
    "t_files": ("Files", "Bestanden", "Fichiers"),
    "t_quarantine": ("Quarantine reasons", "Redenen quarantaine", "Raisons quarantaine"),
    "t_parameters": ("Working parameters", "Werkwaarden", "Valeurs de travail"),
    "t_backtest": ("Backtest", "Terugtoets", "Contrôle rétrospectif"),
    # columns
    "c_month": ("Month", "Maand", "Mois"),
    "c_dossiers": ("Dossiers", "Dossiers", "Dossiers"),
    "c_persons": ("Persons", "Personen", "Personnes"),
    "c_commitments": ("Commitments", "Vastleggingen", "Engagements"),
    "c_ticket": ("Tickets", "Tickets", "Billets"),
    "c_paid": ("Paid (extracts)", "Betaald (extracten)", "Payé (extraits)"),
    "c_forecast": ("Forecast", "Prognose", "Prévision"),
    "c_lo80": ("80 % low", "80 % laag", "80 % bas"),
    "c_hi80": ("80 % high", "80 % hoog", "80 % haut"),
    "c_lo95": ("95 % low", "95 % laag", "95 % bas"),
    "c_hi95": ("95 % high", "95 % hoog", "95 % haut"),
    "c_line": ("Budget line", "Begrotingslijn", "Ligne budgétaire"),
    "c_t2025": ("2025 table", "Tabel 2025", "Barème 2025"),
    "c_t2026": ("2026 table", "Tabel 2026", "Barème 2026"),
    "c_diff": ("2026 − 2025", "2026 − 2025", "2026 − 2025"),
    "continued": ("continued", "vervolg", "suite"),
    "c_vs_2025": ("Difference from 2025", "Verschil met 2025", "Écart par rapport à 2025"),
    "c_description": ("Description", "Omschrijving", "Description"),
    "c_table": ("Table", "Tabel", "Barème"),
    "c_mean": ("Mean", "Gemiddelde", "Moyenne"),
    "c_country": ("Country", "Land", "Pays"),
    "c_name": ("Name", "Naam", "Nom"),
    "c_dossiers_fc": ("Dossiers forecast", "Dossiers prognose", "Dossiers prévus"),
    "c_dossiers_12m": (
        "Dossiers last 12 months",
        "Dossiers laatste 12 maanden",
        "Dossiers 12 derniers mois",
    ),
    "c_registering_12m": (
        "Registering dossiers, last 12 months",
        "Ingeschreven dossiers, laatste 12 maanden",
        "Dossiers inscrits, 12 derniers mois",
    ),
    "r_of_which": ("of which", "waarvan", "dont"),
    "r_year": ("{year} (year)", "{year} (jaar)", "{year} (année)"),
    "t_phasing": (
        "{year} month by month (commitments by registration month)",
        "{year} per maand (vastleggingen per inschrijvingsmaand)",
        "{year} mois par mois (engagements par mois d'inscription)",
    ),
    "t_phasing_sheet": ("Phasing", "Spreiding", "Échelonnement"),
    "t_categories": (
        "{year} per 2026 country category",
        "{year} per landencategorie 2026",
        "{year} par catégorie de pays 2026",
    ),
    "t_categories_sheet": ("Categories", "Categorieën", "Catégories"),
    "c_category": ("Category", "Categorie", "Catégorie"),
    "cat_category 1": ("Category 1", "Categorie 1", "Catégorie 1"),
    "cat_category 2": ("Category 2", "Categorie 2", "Catégorie 2"),
    "cat_category 3": ("Category 3", "Categorie 3", "Catégorie 3"),
    "cat_no category": ("No category", "Geen categorie", "Sans catégorie"),
    "t_partners": (
        "{year} per reintegration partner (cash basis)",
        "{year} per re-integratiepartner (kasbasis)",
        "{year} par partenaire de réintégration (base caisse)",
    ),
    "t_partners_sheet": ("Partners", "Partners", "Partenaires"),
    "c_partner": ("Partner", "Partner", "Partenaire"),
    "r_no_partner": ("no partner", "geen partner", "sans partenaire"),
    "note_partners_cash": (
        "Money paid in the year (cash basis: premium and ticket at departure, PAP and PRP "
        "after arrival, per the working payment lags), including dossiers registered "
        "earlier and not yet paid; the other tables are commitments.",
        "Geld betaald in het jaar (kasbasis: premie en ticket bij vertrek, PAP en PRP na "
        "aankomst, volgens de werkhypothesen over betalingstermijnen), ook voor eerder "
        "ingeschreven dossiers die nog niet betaald zijn; de andere tabellen zijn "
        "vastleggingen.",
        "Montants payés dans l'année (base caisse : prime et billet au départ, PAP et PRP "
        "après l'arrivée, selon les délais de paiement de travail), y compris les dossiers "
        "inscrits plus tôt et pas encore payés ; les autres tableaux sont des engagements.",
    ),
    "r_budgeted": (
        "{year} budgeted (forecast of {baseline}, whole year)",
        "{year} begroot (prognose van {baseline}, heel jaar)",
        "{year} budgété (prévision de {baseline}, année entière)",
    ),
    "c_cost2025": ("Cost 2025 table", "Kost tabel 2025", "Coût barème 2025"),
    "c_cost2026": ("Cost 2026 table", "Kost tabel 2026", "Coût barème 2026"),
    "c_better": ("Better off", "Gaan erop vooruit", "Y gagnent"),
    "c_worse": ("Worse off", "Gaan erop achteruit", "Y perdent"),
    "c_indicator": ("Indicator", "Indicator", "Indicateur"),
    "c_observed": ("Observed", "Waargenomen", "Observé"),
    "c_expected": ("Expected", "Verwacht", "Attendu"),
    "c_upper": ("Upper bound", "Bovengrens", "Borne supérieure"),
    "c_q": ("q", "q", "q"),
    "c_method": ("Method", "Methode", "Méthode"),
    "c_reason": ("Reason", "Reden", "Raison"),
    "c_first_seen": ("First seen", "Eerst gezien", "Vue la première fois"),
    "c_grouping": ("Grouping", "Indeling", "Regroupement"),
    "c_ratio": ("Ratio to 2022–2024", "Verhouding tot 2022–2024", "Rapport à 2022–2024"),
    "c_status": ("Status", "Status", "Statut"),
    "c_files": ("Files", "Bestanden", "Fichiers"),
    "c_rows_read": ("Rows read", "Rijen gelezen", "Lignes lues"),
    "c_rows_accepted": ("Rows accepted", "Rijen aanvaard", "Lignes acceptées"),
    "c_rows_quarantined": ("Rows quarantined", "Rijen in quarantaine", "Lignes en quarantaine"),
    "c_rule_reason": (
        "Reason (column or rule)",
        "Reden (kolom of regel)",
        "Raison (colonne ou règle)",
    ),
    "c_rows": ("Rows", "Rijen", "Lignes"),
    "c_rule": ("Rule", "Regel", "Règle"),
    "c_parameter": ("Parameter", "Parameter", "Paramètre"),
    "c_label": ("Meaning", "Betekenis", "Signification"),
    "c_values": ("Value (from date)", "Waarde (vanaf datum)", "Valeur (à partir de)"),
    "c_unit": ("Unit", "Eenheid", "Unité"),
    "c_source": ("Source", "Bron", "Source"),
    "c_resting": ("Resting on it", "Steunt erop", "Repose dessus"),
    "c_resting_share": ("Share of total", "Aandeel in totaal", "Part du total"),
    "c_group": ("Country group", "Landengroep", "Groupe de pays"),
    "c_origins": ("Origins", "Startpunten", "Origines"),
    "c_mase_model": ("MASE model", "MASE model", "MASE modèle"),
    "c_mase_naive": ("MASE seasonal naive", "MASE seizoensnaïef", "MASE naïf saisonnier"),
    "c_mase_ses": ("MASE exp. smoothing", "MASE exp. afvlakking", "MASE lissage exp."),
    "c_cov80": ("80 % coverage", "80 %-dekking", "Couverture 80 %"),
    "c_cov95": ("95 % coverage", "95 %-dekking", "Couverture 95 %"),
    "c_bias": ("Annual bias", "Jaarlijkse afwijking", "Biais annuel"),
    # row labels
    "r_total": ("Total", "Totaal", "Total"),
    "r_projected": ("Projected {year}", "Verwacht {year}", "Projection {year}"),
    "r_to_date": ("{year} to date", "{year} tot nu", "{year} à ce jour"),
    "r_to_complete": (
        "{year} to {month} (complete months)",
        "{year} tot {month} (volledige maanden)",
        "{year} jusqu'à {month} (mois complets)",
    ),
    "r_partial": (
        "{month} (partial, to {to})",
        "{month} (onvolledig, tot {to})",
        "{month} (partiel, jusqu'au {to})",
    ),
    "r_other": ("other countries", "andere landen", "autres pays"),
    "n_countries": ("{n} countries", "{n} landen", "{n} pays"),
    "actual": ("actual", "werkelijk", "observé"),
    "note_pool_intervals": (
        "Intervals are per row; they do not add up (the pooled row has none).",
        "Intervallen gelden per rij en tellen niet op (de samengevoegde rij heeft er geen).",
        "Les intervalles valent par ligne et ne s'additionnent pas (la ligne regroupée n'en a pas).",
    ),
    # budget lines
    "l_transport_allowance": (
        "Transport allowance",
        "Transportvergoeding",
        "Indemnité de transport",
    ),
    "l_return_premium": ("Return premium", "Terugkeerpremie", "Prime de retour"),
    "l_reintegration_base": ("Reintegration, base", "Re-integratie, basis", "Réintégration, base"),
    "l_priority_topup": ("Priority top-up", "Prioriteitstoeslag", "Supplément prioritaire"),
    "l_degressive_topup": ("Degressive top-up", "Degressieve toeslag", "Supplément dégressif"),
    "l_vulnerability_topup": (
        "Vulnerability top-up",
        "Kwetsbaarheidstoeslag",
        "Supplément vulnérabilité",
    ),
    "l_medical_topup": ("Medical top-up", "Medische toeslag", "Supplément médical"),
    "l_amaar": (
        "Medical assistance (AMAAR)",
        "Medische bijstand (AMAAR)",
        "Assistance médicale (AMAAR)",
    ),
    "l_balkan_admin_support": (
        "Balkan administrative support",
        "Administratieve steun Balkan",
        "Soutien administratif Balkans",
    ),
    "l_partner_service_fee": ("Partner service fee", "Vergoeding partner", "Frais du partenaire"),
    "l_pap_cash": ("of which cash (PAP)", "waarvan cash (PAP)", "dont espèces (PAP)"),
    "l_prp_in_kind": ("of which in kind (PRP)", "waarvan in natura (PRP)", "dont en nature (PRP)"),
    "l_total": ("Total (without tickets)", "Totaal (zonder tickets)", "Total (hors billets)"),
    "l_ticket": ("Tickets", "Tickets", "Billets"),
    # charts
    "ch_fan": (
        "Monthly commitments: actual and forecast",
        "Vastleggingen per maand: werkelijk en prognose",
        "Engagements mensuels : observés et prévus",
    ),
    "ch_fan_desc": (
        "Line of actual monthly commitments, then the forecast mean with shaded 80 % and 95 % intervals.",
        "Lijn van de werkelijke vastleggingen per maand, dan de gemiddelde prognose met gearceerde 80 %- en 95 %-intervallen.",
        "Courbe des engagements mensuels observés, puis la prévision moyenne avec les intervalles à 80 % et 95 % en grisé.",
    ),
    "ch_bars": (
        "Budget {year} per line: 2025 and 2026 tables",
        "Budget {year} per lijn: tabellen 2025 en 2026",
        "Budget {year} par ligne : barèmes 2025 et 2026",
    ),
    "ch_bars_desc": (
        "Bars of the forecast mean per budget line under each table, with 80 % intervals.",
        "Staven van de gemiddelde prognose per begrotingslijn onder elke tabel, met 80 %-intervallen.",
        "Barres de la prévision moyenne par ligne budgétaire selon chaque barème, avec intervalles à 80 %.",
    ),
    "ch_timeline": ("Alarm timeline", "Tijdlijn van de alarmen", "Chronologie des alertes"),
    "ch_timeline_desc": (
        "One mark per country, month and indicator with an alarm, over the twelve months of the table.",
        "Eén markering per land, maand en indicator met een alarm, over de twaalf maanden van de tabel.",
        "Une marque par pays, mois et indicateur en alerte, sur les douze mois du tableau.",
    ),
    "ch_eur_thousands": ("EUR thousand", "duizend EUR", "milliers d'EUR"),
    # indicators and methods
    "i_registered_dossiers": (
        "registering dossiers",
        "ingeschreven dossiers",
        "dossiers inscrits",
    ),
    "i_registered_persons": (
        "registering persons",
        "ingeschreven personen",
        "personnes inscrites",
    ),
    "i_vulnerability_share": ("share vulnerable", "aandeel kwetsbaar", "part vulnérable"),
    "i_short_stay_share": (
        "share registering ≤ 30 days after arrival",
        "aandeel ingeschreven ≤ 30 dagen na aankomst",
        "part inscrite ≤ 30 jours après l'arrivée",
    ),
    "i_top_degressive_band_share": (
        "share in the top degressive band",
        "aandeel in de hoogste degressieve schijf",
        "part dans la tranche dégressive la plus haute",
    ),
    "i_cancelled_share": (
        "share of dossiers cancelled",
        "aandeel geannuleerde dossiers",
        "part de dossiers annulés",
    ),
    "i_repeat_return_share": (
        "share of repeat returns",
        "aandeel herhaalde terugkeer",
        "part de retours répétés",
    ),
    "i_multi_dossier_share": (
        "share already in another dossier",
        "aandeel al in een ander dossier",
        "part déjà dans un autre dossier",
    ),
    "i_overpaid_share": (
        "share paid above the table",
        "aandeel boven de tabel betaald",
        "part payée au-dessus du barème",
    ),
    "g_nationality": ("nationality", "nationaliteit", "nationalité"),
    "g_return_country": ("return country", "terugkeerland", "pays de retour"),
    "reason": (
        "{observed} {indicator} against {expected} expected (upper bound {upper}; {method}); q = {q}",
        "{observed} {indicator} tegenover {expected} verwacht (bovengrens {upper}; {method}); q = {q}",
        "{observed} {indicator} pour {expected} attendus (borne supérieure {upper} ; {method}) ; q = {q}",
    ),
    "reason_share": (
        "{indicator}: {observed} against {expected} expected (upper bound {upper}; {method}); q = {q}",
        "{indicator}: {observed} tegenover {expected} verwacht (bovengrens {upper}; {method}); q = {q}",
        "{indicator} : {observed} pour {expected} attendus (borne supérieure {upper} ; {method}) ; q = {q}",
    ),
    "m_negbin_glm": (
        "negative-binomial GLM on own history",
        "negatief-binomiaal GLM op eigen geschiedenis",
        "GLM binomial négatif sur l'historique propre",
    ),
    "m_ears_c2": (
        "short baseline (EARS C2)",
        "korte basislijn (EARS C2)",
        "référence courte (EARS C2)",
    ),
    "m_funnel_programme": (
        "funnel limits against the programme",
        "trechtergrenzen tegenover het programma",
        "limites en entonnoir par rapport au programme",
    ),
    "m_funnel_programme_and_own": (
        "funnel limits against the programme and own past",
        "trechtergrenzen tegenover het programma en het eigen verleden",
        "limites en entonnoir par rapport au programme et au passé propre",
    ),
    "st_ingested": ("ingested", "ingelezen", "ingéré"),
    "st_ingested_with_quarantine": (
        "ingested, some rows quarantined",
        "ingelezen, enkele rijen in quarantaine",
        "ingéré, quelques lignes en quarantaine",
    ),
    "st_rejected": ("rejected whole", "volledig geweigerd", "rejeté en entier"),
    "grp_Balkans": ("Balkans", "Balkan", "Balkans"),
    "grp_Latin America": ("Latin America", "Latijns-Amerika", "Amérique latine"),
    "grp_lifted restrictions": (
        "lifted restrictions",
        "opgeheven beperkingen",
        "restrictions levées",
    ),
    "grp_other visa-free": ("other visa-free", "andere visumvrije", "autres sans visa"),
    "grp_other visa-required": ("other visa-required", "andere visumplichtige", "autres avec visa"),
    "grp_total": ("total", "totaal", "total"),
    "note_no_quarantine": (
        "No row was quarantined.",
        "Geen enkele rij werd in quarantaine geplaatst.",
        "Aucune ligne n'a été mise en quarantaine.",
    ),
    "note_quarantine": (
        "One line per rule broken (a row may break several), in the rules' own wording (English), quoted values left out.",
        "Eén lijn per geschonden regel (een rij kan er meerdere schenden), in de eigen formulering van de regels (Engels), zonder geciteerde waarden.",
        "Une ligne par règle enfreinte (une ligne peut en enfreindre plusieurs), dans la formulation des règles (anglais), sans les valeurs citées.",
    ),
    # the focus table (lifted restrictions)
    "note_focus": (
        "Every month from {start}, when the restrictions on these countries were lifted, to {month}: "
        "the dossiers registered per country against the monthly average of 2022–2024.",
        "Elke maand van {start}, toen de beperkingen voor deze landen werden opgeheven, tot {month}: "
        "de ingeschreven dossiers per land tegenover het maandgemiddelde van 2022–2024.",
        "Chaque mois de {start}, quand les restrictions sur ces pays ont été levées, à {month} : "
        "les dossiers inscrits par pays par rapport à la moyenne mensuelle de 2022–2024.",
    ),
    # the parameter values (budget_assumptions: generated from structured values)
    "note_parameter_sources": (
        "Sources as the rules reference records them (rules/parameters/*.yaml), with their citations.",
        "Bronnen zoals de regelreferentie ze vastlegt (rules/parameters/*.yaml), met hun verwijzingen, in het Engels.",
        "Sources telles que la référence des règles les consigne (rules/parameters/*.yaml), avec leurs références, en anglais.",
    ),
    "v_from": ("from {since}: {value}", "vanaf {since}: {value}", "à partir du {since} : {value}"),
    "v_none": ("none", "geen", "aucun"),
    "v_true": ("yes", "ja", "oui"),
    "v_false": ("no", "nee", "non"),
    "unit_EUR": ("EUR", "EUR", "EUR"),
    "unit_countries": ("countries", "landen", "pays"),
    "unit_flag": ("yes/no", "ja/nee", "oui/non"),
    "unit_date": ("date", "datum", "date"),
    "unit_days": ("days", "dagen", "jours"),
    "unit_years": ("years", "jaar", "ans"),
    "unit_departures": ("departures", "vertrekken", "départs"),
    "unit_share by month after departure": (
        "share by month after departure",
        "aandeel per maand na vertrek",
        "part par mois après le départ",
    ),
    "unit_share by month after registration": (
        "share by month after registration",
        "aandeel per maand na inschrijving",
        "part par mois après l'inscription",
    ),
}

MONTHS = {
    "en": "January February March April May June July August September October November December",
    "nl": "januari februari maart april mei juni juli augustus september oktober november december",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
}


# Authored English texts that reach the report from the rules reference (the labels of
# the working parameter values, rules/parameters/*.yaml, and of the scenarios,
# rules/scenarios/*.yaml): English text → (nl, fr). A text not here is shown as written
# (tests/pipelines/test_report_language.py catches one that reaches the demo report).
# Their sources are citations (documents, dates, addresses): quoted as recorded, with a
# note saying so (note_parameter_sources).
AUTHORED: dict[str, tuple[str, str]] = {
    # table labels
    "Support table 2022–2025 (before the 2026 reform)": (
        "Steuntabel 2022–2025 (vóór de hervorming van 2026)",
        "Barème d'aide 2022–2025 (avant la réforme de 2026)",
    ),
    "Support table from 1 January 2026": (
        "Steuntabel vanaf 1 januari 2026",
        "Barème d'aide à partir du 1er janvier 2026",
    ),
    # parameter labels
    "Balkan administrative support per person (ALB BIH XKX MKD MNE SRB)": (
        "Administratieve steun Balkan per persoon (ALB BIH XKX MKD MNE SRB)",
        "Soutien administratif Balkans par personne (ALB BIH XKX MKD MNE SRB)",
    ),
    "Base reintegration (in kind), visa-required countries and Latin America, per adult": (
        "Basisre-integratie (in natura), visumplichtige landen en Latijns-Amerika, per volwassene",
        "Réintégration de base (en nature), pays soumis au visa et Amérique latine, par adulte",
    ),
    "Base reintegration (in kind), visa-required countries and Latin America, per minor": (
        "Basisre-integratie (in natura), visumplichtige landen en Latijns-Amerika, per minderjarige",
        "Réintégration de base (en nature), pays soumis au visa et Amérique latine, par mineur",
    ),
    "Base reintegration, categories 1 and 2, per adult (always kept)": (
        "Basisre-integratie, categorieën 1 en 2, per volwassene (altijd behouden)",
        "Réintégration de base, catégories 1 et 2, par adulte (toujours maintenue)",
    ),
    "Base reintegration, categories 1 and 2, per minor (always kept)": (
        "Basisre-integratie, categorieën 1 en 2, per minderjarige (altijd behouden)",
        "Réintégration de base, catégories 1 et 2, par mineur (toujours maintenue)",
    ),
    "Cash Post Arrival Package, cap per adult (the rest is in-kind PRP)": (
        "Post Arrival Package (PAP) in cash, plafond per volwassene (de rest is PRP in natura)",
        "Post Arrival Package (PAP) en espèces, plafond par adulte (le reste est du PRP en nature)",
    ),
    "Cash Post Arrival Package, cap per minor (the rest is in-kind PRP)": (
        "Post Arrival Package (PAP) in cash, plafond per minderjarige (de rest is PRP in natura)",
        "Post Arrival Package (PAP) en espèces, plafond par mineur (le reste est du PRP en nature)",
    ),
    "Category 1 top-up, per minor": (
        "Toeslag categorie 1, per minderjarige",
        "Supplément catégorie 1, par mineur",
    ),
    "Degressive top-up, file at the DVZ or CGVS (or Dublin with Belgium responsible)": (
        "Degressieve toeslag, dossier bij de DVZ of het CGVS (of Dublin met België verantwoordelijk)",
        "Supplément dégressif, dossier à l'OE ou au CGRA (ou Dublin avec la Belgique responsable)",
    ),
    "Nationalities without a return premium": (
        "Nationaliteiten zonder terugkeerpremie",
        "Nationalités sans prime de retour",
    ),
    "Non-medical vulnerability supplement per person": (
        "Niet-medische kwetsbaarheidstoeslag per persoon",
        "Supplément de vulnérabilité non médicale par personne",
    ),
    "Partner service fee per dossier with any reintegration support": (
        "Vergoeding partner per dossier met re-integratiesteun",
        "Frais du partenaire par dossier avec un soutien à la réintégration",
    ),
    "Priority top-up on top of the base, per minor": (
        "Prioriteitstoeslag bovenop de basis, per minderjarige",
        "Supplément prioritaire en plus de la base, par mineur",
    ),
    "Return countries without reintegration support unless vulnerable": (
        "Terugkeerlanden zonder re-integratiesteun, tenzij kwetsbaar",
        "Pays de retour sans soutien à la réintégration, sauf vulnérabilité",
    ),
    "Return premium, nationals of visa-required countries, per adult": (
        "Terugkeerpremie, onderdanen van visumplichtige landen, per volwassene",
        "Prime de retour, ressortissants de pays soumis au visa, par adulte",
    ),
    "Return premium, nationals of visa-required countries, per minor": (
        "Terugkeerpremie, onderdanen van visumplichtige landen, per minderjarige",
        "Prime de retour, ressortissants de pays soumis au visa, par mineur",
    ),
    "Return premium, visa-free nationals, Kosovo, non-EU-15 EU nationals, per adult": (
        "Terugkeerpremie, visumvrije onderdanen, Kosovo, EU-onderdanen buiten de EU-15, per volwassene",
        "Prime de retour, ressortissants exemptés de visa, Kosovo, ressortissants UE hors UE-15, par adulte",
    ),
    "Return premium, visa-free nationals, Kosovo, non-EU-15 EU nationals, per minor": (
        "Terugkeerpremie, visumvrije onderdanen, Kosovo, EU-onderdanen buiten de EU-15, per minderjarige",
        "Prime de retour, ressortissants exemptés de visa, Kosovo, ressortissants UE hors UE-15, par mineur",
    ),
    "Visa-free return countries that still have base reintegration": (
        "Visumvrije terugkeerlanden die nog basisre-integratie krijgen",
        "Pays de retour exemptés de visa qui gardent la réintégration de base",
    ),
    "Whether the supplement is due once per vulnerability (true) or once per person (false)": (
        "Of de toeslag eenmaal per kwetsbaarheid (ja) of eenmaal per persoon (nee) verschuldigd is",
        "Si le supplément est dû une fois par vulnérabilité (oui) ou une fois par personne (non)",
    ),
    # scenario labels
    "2026 table with the early degressive top-up at 1,500 EUR": (
        "tabel 2026 met de vroege degressieve toeslag op 1.500 EUR",
        "barème 2026 avec le supplément dégressif précoce à 1\u202f500 EUR",
    ),
}


def _check() -> None:
    for key, texts in TEXT.items():
        if len(texts) != 3 or not all(texts):
            raise ValueError(f"report label {key!r} needs English, Dutch and French")


_check()


class Labels:
    """The texts and number formats of one language."""

    def __init__(self, lang: str):
        if lang not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {lang!r}")
        self.lang = lang
        self._i = _INDEX[lang]

    def __call__(self, key: str, **values) -> str:
        return TEXT[key][self._i].format(**values)

    def authored(self, text: str | None) -> str | None:
        """An authored English text of the rules reference in this language (as written
        when it has no translation yet)."""
        if text is None or self.lang == "en" or text not in AUTHORED:
            return text
        return AUTHORED[text][self._i - 1]

    def month(self, d: date) -> str:
        return f"{MONTHS[self.lang].split()[d.month - 1]} {d.year}"

    def short_month(self, d: date) -> str:
        return f"{d:%Y-%m}"

    def _separators(self) -> tuple[str, str]:
        return {"en": (",", "."), "nl": (".", ","), "fr": ("\u202f", ",")}[self.lang]

    def number(self, value, decimals: int = 0) -> str:
        thousands, point = self._separators()
        quantum = Decimal(1).scaleb(-decimals)
        text = f"{Decimal(str(value)).quantize(quantum, ROUND_HALF_UP):,.{decimals}f}"
        return text.replace(",", "\0").replace(".", point).replace("\0", thousands)

    def eur(self, value, decimals: int = 0) -> str:
        return (
            f"€ {self.number(value, decimals)}"
            if self.lang != "fr"
            else (f"{self.number(value, decimals)} €")
        )

    def share(self, value: float, decimals: int = 1) -> str:
        return f"{self.number(value * 100, decimals)} %"

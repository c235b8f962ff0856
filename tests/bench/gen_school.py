#!/usr/bin/env python3
"""gen_school.py RECORDS DIR [SEED] - a school's dump for the example school
profile (conf/profiles/school-example.json): a bundle folder DIR with
person.csv (Windows-1251), pupil.csv, employee.csv, class.csv (comma
separated), subject.csv, mark.csv (a partial dump), lesson.csv and a
manifest.json with their SHA-256, about RECORDS rows in all: 100,000 is a
school, 10,000,000 a region. Keys are consistent (pupils and employees are
persons, marks and lessons name existing pupils, classes, subjects and
teachers; lessons are unique by class, date, number and group). The same
RECORDS and SEED give the same bytes. Rows are written as they are made:
memory does not grow with RECORDS."""
import datetime
import hashlib
import json
import os
import random
import sys

SURNAMES = ["Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов",
            "Михайлов", "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев"]
FIRST = ["Александр", "Мария", "Дмитрий", "Анна", "Максим", "Елена", "Иван", "Ольга",
         "Артём", "Наталья", "Михаил", "Татьяна", "Никита", "Светлана"]
MIDDLE = ["Александрович", "Сергеевна", "Дмитриевич", "Игоревна", "Андреевич", "Олеговна", ""]
SUBJECTS = ["Математика", "Русский язык", "Литература", "Физика", "Химия", "Биология",
            "История", "Обществознание", "География", "Информатика", "Английский язык",
            "Немецкий язык", "Физическая культура", "Музыка", "ИЗО", "Технология", "ОБЖ",
            "Астрономия", "Алгебра", "Геометрия"]
POSITIONS = ["Учитель", "Учитель", "Учитель", "Заместитель директора", "Педагог-психолог",
             "Библиотекарь"]
LETTERS = "АБВГДЕ"


def main():
    total = int(sys.argv[1])
    out = sys.argv[2]
    rnd = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    os.makedirs(out, exist_ok=True)
    n_subj = len(SUBJECTS)
    n_class = max(11, total // 2500)
    n_emp = max(20, total // 1000)
    n_pupil = max(100, total // 100)
    n_person = n_pupil + n_emp
    n_lesson = total // 5
    n_mark = max(0, total - n_subj - n_class - n_emp - n_pupil - n_person - n_lesson)
    d0 = datetime.date(2024, 9, 2)
    days = [d0 + datetime.timedelta(days=i) for i in range(400) if (d0 + datetime.timedelta(days=i)).weekday() < 5]
    stamp = "2024-08-30 12:00:00"
    files = []

    def write(name, header, rows, enc="utf-8", sep=";"):
        path = os.path.join(out, name)
        h = hashlib.sha256()
        with open(path, "wb") as f:
            buf = []
            line = sep.join(header) + "\n"
            data = line.encode(enc)
            h.update(data)
            f.write(data)
            for r in rows:
                buf.append(sep.join(r))
                if len(buf) == 4096:
                    data = ("\n".join(buf) + "\n").encode(enc)
                    h.update(data)
                    f.write(data)
                    buf = []
            if buf:
                data = ("\n".join(buf) + "\n").encode(enc)
                h.update(data)
                f.write(data)
        files.append((name, h.hexdigest()))

    def persons():
        for i in range(1, n_person + 1):
            pupil = i <= n_pupil
            born = datetime.date(2008 + rnd.randrange(10), 1 + rnd.randrange(12), 1 + rnd.randrange(28)) \
                if pupil else datetime.date(1960 + rnd.randrange(40), 1 + rnd.randrange(12), 1 + rnd.randrange(28))
            yield [str(i), rnd.choice(SURNAMES), rnd.choice(FIRST), rnd.choice(MIDDLE), born.isoformat(),
                   str(1 + i % 2), "%03d-%03d-%03d %02d" % (i % 1000, i // 1000 % 1000, i // 7 % 1000, i % 97),
                   "3", "%04d %06d" % (i % 10000, i), stamp, stamp]
    write("person.csv", ["id", "surname", "firstname", "patronymic", "birth_date", "gender", "СНИЛС",
                         "document_type", "document_number", "created_at", "modified_at"],
          persons(), enc="cp1251")

    def pupils():
        for i in range(1, n_pupil + 1):
            yield [str(i), str(i), "school-1", str(1 + i % n_class), "2024-09-01", "",
                   "1" if i % 97 == 0 else "0", stamp, stamp]
    write("pupil.csv", ["id", "person_id", "school_id", "class_id", "enrollment_date", "leaving_date",
                        "home_schooling", "created_at", "modified_at"], pupils())

    def employees():
        for i in range(1, n_emp + 1):
            pos = POSITIONS[i % len(POSITIONS)]
            yield [str(i), str(n_pupil + i), "school-1", pos, "1.0" if i % 3 else "0.5", "2015-09-01", "",
                   "1" if pos == "Учитель" else "0", stamp, stamp]
    write("employee.csv", ["id", "person_id", "school_id", "position", "rate", "hire_date", "dismissal_date",
                           "is_teacher", "created_at", "modified_at"], employees())

    def classes():
        for i in range(1, n_class + 1):
            par = 1 + (i - 1) % 11
            letter = LETTERS[(i - 1) // 11 % len(LETTERS)]
            yield [str(i), "school-1", str(par), letter, '"%d%s"' % (par, letter), "2024/2025",
                   str(1 + i % n_emp), "2024-09-01", "2025-05-31", stamp, stamp]
    write("class.csv", ["id", "school_id", "parallel", "letter", "name", "academic_year", "teacher_id",
                        "start_date", "end_date", "created_at", "modified_at"], classes(), sep=",")

    write("subject.csv", ["id", "code", "name", "short_name", "is_elective"],
          ([str(i + 1), "S%02d" % (i + 1), s, s[:4], "1" if i >= 17 else "0"] for i, s in enumerate(SUBJECTS)))

    def marks():
        for i in range(1, n_mark + 1):
            day = days[rnd.randrange(len(days))]
            yield [str(i), str(1 + rnd.randrange(n_pupil)), str(1 + rnd.randrange(n_subj)),
                   str(1 + rnd.randrange(n_emp)), day.isoformat(), rnd.choice("2345"),
                   "1.0" if i % 10 else "2.0", str(1 + i % 3), "1" if i % 50 == 0 else "0",
                   "%s 15:%02d:%02d" % (day.isoformat(), i % 60, i // 60 % 60), stamp]
    write("mark.csv", ["id", "pupil_id", "subject_id", "teacher_id", "lesson_date", "value", "weight",
                       "mark_type", "is_final", "created_at", "modified_at"], marks())

    def lessons():
        i = 0
        # lesson numbers 1..7 per class and school day, class by class
        for d in range(10 ** 9):
            day = days[d % len(days)]
            for c in range(1, n_class + 1):
                for num in range(1, 8):
                    i += 1
                    if i > n_lesson:
                        return
                    start = datetime.datetime(day.year, day.month, day.day, 8) + datetime.timedelta(minutes=55 * (num - 1))
                    # past the year's days, the same day again in group 1, 2...
                    group = d // len(days)
                    yield [str(i), str(c), day.isoformat(), str(num), str(group) if group else "",
                           str(1 + (c + num) % n_subj), str(1 + (c * 7 + num) % n_emp), "%d" % (100 + c % 300),
                           start.strftime("%Y-%m-%d %H:%M:%S"),
                           (start + datetime.timedelta(minutes=45)).strftime("%Y-%m-%d %H:%M:%S"),
                           "1" if i % 211 == 0 else "0"]
    write("lesson.csv", ["id", "class_id", "lesson_date", "lesson_number", "group", "subject_id", "teacher_id",
                         "room", "begins", "ends", "cancelled"], lessons())

    manifest = {"files": [{"name": n, "sha256": s, **({"partial": True} if n == "mark.csv" else {})}
                          for n, s in files]}
    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)
    print("%d persons, %d pupils, %d employees, %d classes, %d subjects, %d marks, %d lessons: %d rows" %
          (n_person, n_pupil, n_emp, n_class, n_subj, n_mark, n_lesson,
           n_person + n_pupil + n_emp + n_class + n_subj + n_mark + n_lesson))


if __name__ == "__main__":
    main()
